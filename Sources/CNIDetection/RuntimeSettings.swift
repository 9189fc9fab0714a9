import ConfigFormats
import Diagnosis
import NodeFiles

/// The container runtime's CNI settings: where it reads network configs and plugin binaries,
/// and how many networks it loads. Defaults fill what the config leaves out.
public struct RuntimeSettings: Sendable, Equatable {
    public enum Name: String, Sendable { case containerd, crio = "cri-o", unknown }

    public var name: Name
    /// The main config file as named on the node, nil when none was found.
    public var configPath: String?
    /// containerd's config format version (1, 2, 3); nil for CRI-O.
    public var configVersion: Int?
    public var confDir: String
    public var binDirs: [String]
    /// containerd's max_conf_num (0 = all); nil for CRI-O, which has no such key.
    public var maxConfNum: Int?
    /// containerd's conf_template: containerd writes the CNI config itself from it.
    public var confTemplate: String?
    /// CRI-O's cni_default_network ("" or nil = the first found).
    public var defaultNetwork: String?
    /// Whether the config has a CNI section at all (else every value is a default).
    public var cniSectionPresent: Bool
    /// Files that were read, in order (the main config, then imports or drop-ins).
    public var filesRead: [String]
    /// containerd's runc SystemdCgroup option, for comparing with the kubelet's cgroupDriver.
    public var systemdCgroup: Bool?
    /// Whether the runtime can parse its config (false: it will not start with it).
    public var configParses = true
    /// For a config that does not parse: the CNI values its lines meant to set.
    public var intended: [String: String] = [:]
    /// What reading the runtime's files met, in order: the facts RuntimeChecks judges.
    public var problems: [RuntimeReadProblem] = []

    public static let defaultConfDir = "/etc/cni/net.d"
    public static let defaultBinDir = "/opt/cni/bin"

    public static func defaults(_ name: Name) -> RuntimeSettings {
        RuntimeSettings(
            name: name, configPath: nil, configVersion: nil,
            confDir: name == .crio ? "/etc/cni/net.d/" : defaultConfDir,
            binDirs: [name == .crio ? "/opt/cni/bin/" : defaultBinDir],
            maxConfNum: name == .crio ? nil : 1, confTemplate: nil, defaultNetwork: nil,
            cniSectionPresent: false, filesRead: [])
    }
}

/// Reads containerd's config.toml (format versions 1 to 3, with imports).
public enum ContainerdConfigReader {
    /// Where containerd's config lives: the standard path, and k3s's.
    public static let candidatePaths = [
        "/etc/containerd/config.toml",
        "/var/lib/rancher/k3s/agent/etc/containerd/config.toml",
    ]

    /// The CNI section of each format version.
    static func cniSection(version: Int) -> [String] {
        switch version {
        case 1: ["plugins", "cri", "cni"]
        case 2: ["plugins", "io.containerd.grpc.v1.cri", "cni"]
        default: ["plugins", "io.containerd.cri.v1.runtime", "cni"]
        }
    }

    /// containerd's settings from its config and the files it imports, with what reading them met.
    public static func read(path: String, root: NodeRoot) -> RuntimeSettings {
        var settings = RuntimeSettings.defaults(.containerd)
        settings.configPath = path
        guard let document = parse(path: path, root: root, settings: &settings) else {
            settings.configParses = false
            if let text = try? root.readText(path) {
                settings.intended = LenientTOML.assignments(
                    in: text, keys: ["version", "conf_dir", "bin_dir", "max_conf_num", "conf_template"])
            }
            return settings
        }
        settings.filesRead.append(path)
        apply(document, path: path, to: &settings)
        // `imports` (v2+) are merged over the main file, in order; a glob names several files.
        for pattern in document["imports"]?.array?.compactMap(\.string) ?? [] {
            for file in expand(pattern, relativeTo: path, root: root) {
                guard let imported = parse(path: file, root: root, settings: &settings) else { continue }
                settings.filesRead.append(file)
                apply(imported, path: file, to: &settings, isImport: true)
            }
        }
        return settings
    }

    static func parse(path: String, root: NodeRoot, settings: inout RuntimeSettings) -> ConfigValue? {
        let text: String
        do {
            text = try root.readText(path)
        } catch {
            settings.problems.append(.unreadable(error))
            return nil
        }
        do {
            return try TOMLReader.parse(text)
        } catch {
            settings.problems.append(
                .unparsable(
                    path, line: error.line, column: error.column, message: error.message,
                    placeholders: placeholderEvidence(text)))
            return nil
        }
    }

    static func apply(_ document: ConfigValue, path: String, to settings: inout RuntimeSettings, isImport: Bool = false) {
        let version = document["version"]?.int ?? (isImport ? settings.configVersion ?? 1 : 1)
        if !isImport || document["version"] != nil { settings.configVersion = version }
        let sectionPath = cniSection(version: version)
        var section: ConfigValue? = document
        for key in sectionPath { section = section?[key] }
        if version == 1 && !isImport { settings.problems.append(.versionOne(path)) }
        // CNI keys under another version's section are silently ignored by containerd.
        for other in [1, 2, 3] where other != version {
            var misplaced: ConfigValue? = document
            for key in cniSection(version: other) { misplaced = misplaced?[key] }
            if misplaced?.object != nil, !(version >= 3 && other >= 3) {
                settings.problems.append(.misplacedSection(path, version: other, declared: version))
            }
        }
        var cri: ConfigValue? = document
        for key in sectionPath.dropLast() { cri = cri?[key] }
        if let systemd = cri?["containerd"]?["runtimes"]?["runc"]?["options"]?["SystemdCgroup"]?.bool {
            settings.systemdCgroup = systemd
        }
        // v2 keeps sandbox_image in the CRI section; v3 moved it to the images plugin.
        let sandbox =
            cri?["sandbox_image"]?.string ?? document["plugins"]?["io.containerd.cri.v1.images"]?["pinned_images"]?["sandbox"]?.string
        if let sandbox, !sandbox.contains("/"), !sandbox.contains(":") {
            settings.problems.append(.sandboxImageNotAReference(sandbox, path: path))
        }
        guard let cni = section?.object else { return }
        settings.cniSectionPresent = true
        if let dir = cni["conf_dir"]?.string, !dir.isEmpty { settings.confDir = dir }
        if let max = cni["max_conf_num"]?.int { settings.maxConfNum = max }
        if let template = cni["conf_template"]?.string, !template.isEmpty { settings.confTemplate = template }
        let binDirs = cni["bin_dirs"]?.array?.compactMap(\.string).filter { !$0.isEmpty }
        // bin_dirs came with containerd 2.1, which deprecated bin_dir; a config with only bin_dir
        // is right for 2.0, one with both keeps a deprecated key beside its replacement.
        if let binDir = cni["bin_dir"]?.string, let binDirs, version >= 3 {
            settings.problems.append(.binDirBesideBinDirs(path, binDir: binDir, binDirs: binDirs))
        }
        if let binDir = cni["bin_dir"]?.string, !binDir.isEmpty {
            settings.binDirs = (binDirs?.isEmpty == false && version >= 3) ? binDirs! : [binDir]
        } else if let binDirs, !binDirs.isEmpty {
            settings.binDirs = binDirs
        }
    }

    /// Expands an imports entry: relative paths are relative to the config's directory, and a
    /// `*` in the last component matches like a shell glob (sorted).
    static func expand(_ pattern: String, relativeTo config: String, root: NodeRoot) -> [String] {
        let base = String(config[..<(config.lastIndex(of: "/") ?? config.startIndex)])
        let absolute = pattern.hasPrefix("/") ? pattern : NodeRoot.join(base.isEmpty ? "/" : base, pattern)
        guard absolute.contains("*") else { return [absolute] }
        let slash = absolute.lastIndex(of: "/")!
        let dir = String(absolute[..<slash])
        let glob = String(absolute[absolute.index(after: slash)...])
        let entries = (try? root.list(dir.isEmpty ? "/" : dir)) ?? []
        return entries.filter { $0.status?.isRegularFile == true && Glob.matches(glob, $0.name) }.map(\.nodePath)
    }
}

/// Reads CRI-O's crio.conf and its crio.conf.d drop-ins (later files override earlier keys).
public enum CRIOConfigReader {
    public static let mainPath = "/etc/crio/crio.conf"
    public static let dropInDir = "/etc/crio/crio.conf.d"

    /// CRI-O's settings from crio.conf and its drop-ins, with what reading them met.
    public static func read(root: NodeRoot) -> RuntimeSettings {
        var settings = RuntimeSettings.defaults(.crio)
        var files: [String] = []
        if let status = root.status(mainPath) {
            if status.isRegularFile {
                files.append(mainPath)
            } else {
                settings.problems.append(
                    .unreadable(NodeFileError(path: mainPath, reason: status.isDirectory ? .isDirectory : .notRegularFile)))
            }
        }
        let dropIns = ((try? root.list(dropInDir)) ?? []).filter { $0.name.hasSuffix(".conf") && $0.status?.isRegularFile == true }
        files += dropIns.map(\.nodePath)
        settings.configPath = files.first
        for file in files {
            let text: String
            do { text = try root.readText(file) } catch {
                settings.problems.append(.unreadable(error))
                continue
            }
            let document: ConfigValue
            do { document = try TOMLReader.parse(text) } catch {
                settings.configParses = false
                settings.problems.append(
                    .unparsable(file, line: error.line, column: error.column, message: error.message, placeholders: []))
                continue
            }
            settings.filesRead.append(file)
            guard let network = document["crio"]?["network"]?.object else { continue }
            settings.cniSectionPresent = true
            if let dir = network["network_dir"]?.string, !dir.isEmpty { settings.confDir = dir }
            if let dirs = network["plugin_dirs"]?.array?.compactMap(\.string), !dirs.isEmpty {
                settings.binDirs = dirs
            } else if let dir = network["plugin_dir"]?.string, !dir.isEmpty {
                settings.binDirs = [dir]
                settings.problems.append(.legacyPluginDir(file, dir: dir))
            }
            if let name = network["cni_default_network"]?.string { settings.defaultNetwork = name.isEmpty ? nil : name }
        }
        return settings
    }
}

/// Shell-style matching of one path component (`*`, `?`), enough for imports and drop-in globs.
enum Glob {
    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern), n = Array(name)
        var pi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if pi < p.count, p[pi] == "?" || p[pi] == n[ni] {
                pi += 1; ni += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi; mark = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ni = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Lines that still carry template or shell placeholders, as evidence of why a file breaks.
func placeholderEvidence(_ text: String) -> [String] {
    var evidence: [String] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where line.contains("${") || line.contains("{{") {
        evidence.append("line \(i + 1): \(line.trimmingSpacesAndTabs()) (unrendered placeholder)")
        if evidence.count == 3 { break }
    }
    return evidence
}

extension Substring {
    func trimmingSpacesAndTabs() -> String {
        String(self).trimmingCharacters()
    }
}

/// What reading a runtime's config files met: facts, judged by RuntimeChecks.
public enum RuntimeReadProblem: Sendable, Equatable {
    /// A file there but unreadable (or not a regular file), or missing where something names it.
    case unreadable(NodeFileError)
    /// TOML that does not parse, with the template or shell placeholders that explain why.
    case unparsable(String, line: Int, column: Int, message: String, placeholders: [String])
    /// A version-1 containerd config, which containerd 2.x rejects.
    case versionOne(String)
    /// CNI keys in another version's section than the one declared: ignored.
    case misplacedSection(String, version: Int, declared: Int)
    case sandboxImageNotAReference(String, path: String)
    /// containerd 2.1's bin_dirs beside the bin_dir it deprecated.
    case binDirBesideBinDirs(String, binDir: String, binDirs: [String])
    /// CRI-O's legacy plugin_dir.
    case legacyPluginDir(String, dir: String)
}

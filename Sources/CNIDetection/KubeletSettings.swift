import NetAddress
import ConfigFormats
import YAMLFormat
import Diagnosis
import NodeFiles

/// The kubelet settings that shape pod networking, merged as the kubelet merges them: config
/// file, then --config-dir drop-ins, then command-line flags.
public struct KubeletSettings: Sendable, Equatable {
    public var configPath: String?
    public var podCIDR: String?
    public var clusterDNS: [String]?
    public var clusterDomain: String?
    public var containerRuntimeEndpoint: String?
    public var maxPods: Int?
    public var hairpinMode: String?
    public var resolvConf: String?
    public var cgroupDriver: String?
    /// Flags from the systemd unit, its drop-ins and environment files, in order.
    public var flags: CommandLineFlags
    /// Files that were read, in order.
    public var filesRead: [String]
    /// EnvironmentFile= paths the unit names, present or not.
    public var environmentFiles: [String] = []
    /// What reading them met, in order: the facts KubeletChecks judges.
    public var problems: [KubeletReadProblem] = []
    /// clusterDNS as each configuration file (and drop-in) gives it, in the order applied.
    public var clusterDNSByFile: [FileValue] = []

    /// A value of one file.
    public struct FileValue: Sendable, Equatable {
        public var file: String
        public var values: [String]
    }

    public init() {
        flags = CommandLineFlags()
        filesRead = []
    }

    mutating func noteIgnoredLines(_ lines: [(line: Int, text: String)], file: String) {
        guard !lines.isEmpty else { return }
        problems.append(.ignoredLines(file: file, lines: lines.map { FileLine(line: $0.line, text: $0.text) }))
    }

    /// The runtime the endpoint names.
    public var endpointRuntime: RuntimeSettings.Name? {
        guard let endpoint = containerRuntimeEndpoint?.lowercased() else { return nil }
        if endpoint.contains("containerd") { return .containerd }
        if endpoint.contains("crio") || endpoint.contains("cri-o") { return .crio }
        return .unknown
    }

    /// Fields of a KubeletConfiguration document (or drop-in) laid over these settings.
    mutating func apply(configuration object: ConfigObject, from file: String) {
        if let dns = object["clusterDNS"]?.array { clusterDNSByFile.append(FileValue(file: file, values: dns.compactMap(\.string))) }
        apply(configuration: object)
    }

    mutating func apply(configuration object: ConfigObject) {
        if let v = object["podCIDR"]?.string { podCIDR = v }
        if let v = object["clusterDNS"]?.array { clusterDNS = v.compactMap(\.string) }
        if let v = object["clusterDomain"]?.string { clusterDomain = v }
        if let v = object["containerRuntimeEndpoint"]?.string { containerRuntimeEndpoint = v }
        if let v = object["maxPods"]?.int { maxPods = v }
        if let v = object["hairpinMode"]?.string { hairpinMode = v }
        if let v = object["resolvConf"]?.string { resolvConf = v }
        if let v = object["cgroupDriver"]?.string { cgroupDriver = v }
    }

    /// Flags override the config file for the settings they name.
    mutating func apply(flags: CommandLineFlags) {
        if let v = flags["--container-runtime-endpoint"] { containerRuntimeEndpoint = v }
        if let v = flags["--pod-cidr"] { podCIDR = v }
        if let v = flags["--cluster-dns"] { clusterDNS = v.split(separator: ",").map(String.init) }
        if let v = flags["--cluster-domain"] { clusterDomain = v }
        if let v = flags["--max-pods"].flatMap({ Int($0) }) { maxPods = v }
        if let v = flags["--hairpin-mode"] { hairpinMode = v }
        if let v = flags["--resolv-conf"] { resolvConf = v }
        if let v = flags["--cgroup-driver"] { cgroupDriver = v }
    }
}

/// Finds and reads the kubelet's unit, drop-ins, environment files and configuration.
public enum KubeletReader {
    static let unitDirectories = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"]
    /// Environment files kubeadm and distributions use when no unit names them.
    static let environmentFiles = ["/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet", "/etc/sysconfig/kubelet"]
    /// Where installers put the KubeletConfiguration when no --config flag says.
    static let configCandidates = [
        "/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet/config.json",
        "/etc/kubernetes/kubelet/kubelet-config.json", "/etc/kubernetes/kubelet-config.yaml",
    ]
    /// The kubelet's settings and what reading them met (problems, as facts): judged by
    /// KubeletChecks, read alone by whoever needs a setting.
    public static func read(root: NodeRoot) -> KubeletSettings {
        var settings = KubeletSettings()
        var variables: [String: String] = [:]
        var execStart: String? = nil

        let units = unitFiles(root: root)
        for file in units {
            guard let text = readText(file, root: root, settings: &settings) else { continue }
            settings.filesRead.append(file)
            let unit = SystemdUnit.parse(text)
            settings.noteIgnoredLines(unit.ignoredLines, file: file)
            for directive in unit.directives where directive.section == "Service" {
                switch directive.key {
                case "Environment":
                    for (key, value) in SystemdUnit.environmentAssignments(directive.value) { variables[key] = value }
                case "EnvironmentFile":
                    let optional = directive.value.hasPrefix("-")
                    let path = optional ? String(directive.value.dropFirst()) : directive.value
                    settings.environmentFiles.append(path)
                    if let env = readEnvironment(path, root: root, required: !optional, settings: &settings) {
                        for assignment in env.assignments { variables[assignment.key] = assignment.value }
                    }
                case "ExecStart":
                    execStart = directive.value.isEmpty ? nil : directive.value
                default:
                    break
                }
            }
        }

        var words: [String] = []
        if let execStart {
            words = ShellWords.split(ShellWords.expand(execStart, variables: variables))
        } else {
            // No unit here (a container image, a copied tree): take the flags variables kubeadm
            // and packagers write.
            for path in environmentFiles where root.status(path) != nil {
                if let env = readEnvironment(path, root: root, required: true, settings: &settings) {
                    for assignment in env.assignments { variables[assignment.key] = assignment.value }
                }
            }
            for name in ["KUBELET_KUBEADM_ARGS", "KUBELET_EXTRA_ARGS", "KUBELET_ARGS", "KUBELET_FLAGS"] {
                words += ShellWords.split(variables[name] ?? "")
            }
        }
        settings.flags = CommandLineFlags(words: words)

        let configPath = settings.flags["--config"] ?? configCandidates.first { root.status($0)?.isRegularFile == true }
        settings.configPath = configPath
        if let named = settings.flags["--config"], root.status(named) == nil {
            settings.problems.append(.configMissing(named))
        } else if let configPath {
            settings.configPath = configPath
            if let object = readConfiguration(configPath, root: root, settings: &settings) {
                settings.filesRead.append(configPath)
                settings.apply(configuration: object, from: configPath)
            }
        }
        if let dropInDir = settings.flags["--config-dir"] {
            for entry in (try? root.list(dropInDir)) ?? [] where entry.name.hasSuffix(".conf") && entry.status?.isRegularFile == true {
                guard let object = readConfiguration(entry.nodePath, root: root, settings: &settings) else { continue }
                settings.filesRead.append(entry.nodePath)
                settings.apply(configuration: object, from: entry.nodePath)
            }
        }
        settings.apply(flags: settings.flags)
        return settings
    }

    /// The unit and its drop-ins, as systemd finds them: the first kubelet.service along the
    /// unit path, then drop-ins from every directory sorted by name (a name in /etc wins).
    static func unitFiles(root: NodeRoot) -> [String] {
        var files: [String] = []
        if let unit = unitDirectories.map({ NodeRoot.join($0, "kubelet.service") }).first(where: { root.status($0)?.isRegularFile == true })
        {
            files.append(unit)
        }
        var dropIns: [String: String] = [:]
        for dir in unitDirectories.reversed() {
            for entry in (try? root.list(NodeRoot.join(dir, "kubelet.service.d"))) ?? []
            where entry.name.hasSuffix(".conf") && entry.status?.isRegularFile == true {
                dropIns[entry.name] = entry.nodePath
            }
        }
        files += dropIns.keys.sorted().map { dropIns[$0]! }
        return files
    }

    static func readText(_ path: String, root: NodeRoot, settings: inout KubeletSettings) -> String? {
        do { return try root.readText(path) } catch {
            settings.problems.append(.unreadable(error))
            return nil
        }
    }

    static func readEnvironment(_ path: String, root: NodeRoot, required: Bool, settings: inout KubeletSettings) -> EnvironmentFile? {
        if !required && root.status(path) == nil { return nil }
        guard let text = readText(path, root: root, settings: &settings) else { return nil }
        settings.filesRead.append(path)
        let env = EnvironmentFile.parse(text)
        settings.noteIgnoredLines(env.ignoredLines, file: path)
        for assignment in env.assignments where !assignment.quoted && assignment.value.contains(" ") {
            settings.problems.append(.unquoted(file: path, assignment))
        }
        return env
    }

    /// A KubeletConfiguration (or drop-in) as JSON or YAML; nil, with the problem noted, when it
    /// is none.
    static func readConfiguration(_ path: String, root: NodeRoot, settings: inout KubeletSettings) -> ConfigObject? {
        guard let text = readText(path, root: root, settings: &settings) else { return nil }
        do {
            let trimmed = text.drop(while: { $0.isWhitespace })
            let value = trimmed.hasPrefix("{") ? try JSONParser.parse(text) : try YAMLReader.parse(text)
            if value.isNull { return ConfigObject() }
            guard let object = value.object else {
                settings.problems.append(.configNotAnObject(path, kind: value.kindName))
                return nil
            }
            return object
        } catch {
            settings.problems.append(.configUnparsable(path, line: error.line, column: error.column, message: error.message))
            return nil
        }
    }
}

/// A line of a file, as evidence names it.
public struct FileLine: Sendable, Equatable {
    public var line: Int
    public var text: String
}

/// What reading the kubelet's files met: facts, judged by KubeletChecks.
public enum KubeletReadProblem: Sendable, Equatable {
    /// A file there but unreadable, or missing where something names it.
    case unreadable(NodeFileError)
    /// Lines systemd (or an environment file's reader) ignores with a warning.
    case ignoredLines(file: String, lines: [FileLine])
    /// An environment file's value with spaces, unquoted.
    case unquoted(file: String, EnvironmentFile.Assignment)
    /// --config names a file that does not exist.
    case configMissing(String)
    case configNotAnObject(String, kind: String)
    case configUnparsable(String, line: Int, column: Int, message: String)
}

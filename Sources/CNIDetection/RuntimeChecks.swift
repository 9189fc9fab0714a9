import Diagnosis
import NodeFiles

/// The runtime's settings judged: what reading its config met (RuntimeReadProblem), its
/// conf_template, directories other tools will not look in. RUNTIME_CONFIG_INVALID,
/// RUNTIME_CONFIG_DEPRECATED, CNI_CONF_TEMPLATE, CNI_DIRS_NONDEFAULT and RUNTIME_MISMATCH are
/// built here only.
public enum RuntimeChecks {
    /// The chosen runtime's findings, and RUNTIME_MISMATCH when the kubelet talks to a runtime
    /// this node has no configuration for while it has the other's.
    static func findings(_ choice: RuntimeChoice) -> [Finding] {
        var findings: [Finding] = []
        if let mismatch = choice.mismatch {
            let wanted = mismatch.wanted
            findings.append(
                Finding(
                    .runtimeMismatch, .error,
                    "The kubelet talks to \(wanted.rawValue), but this node is configured for \(wanted == .containerd ? "cri-o" : "containerd").",
                    hop: "kubelet",
                    evidence: [
                        "containerRuntimeEndpoint: \(mismatch.endpoint)",
                        wanted == .containerd
                            ? "no containerd config; \(mismatch.otherConfig) present"
                            : "no CRI-O config; \(mismatch.otherConfig) present",
                    ],
                    remedy: "Point containerRuntimeEndpoint at the runtime that is installed."))
        }
        return findings + Self.findings(choice.settings)
    }

    public static func findings(_ settings: RuntimeSettings) -> [Finding] {
        var findings = settings.problems.map { finding($0, runtime: settings.name) }
        // containerd's notes need its main file read; CRI-O's files are each their own.
        guard let path = settings.configPath, settings.configParses || settings.name == .crio else { return findings }
        if let template = settings.confTemplate {
            findings.append(
                Finding(
                    .cniConfTemplate, .info,
                    "containerd writes the CNI config itself from \(template) once the node has a podCIDR.",
                    hop: path, evidence: ["conf_template = \"\(template)\""],
                    remedy:
                        "If the conf dir stays empty, check that the node has a podCIDR (kube-controller-manager --allocate-node-cidrs)."))
        }
        return findings + nonDefaultDirectories(settings, path: path)
    }

    static func finding(_ problem: RuntimeReadProblem, runtime: RuntimeSettings.Name) -> Finding {
        let crio = runtime == .crio
        switch problem {
        case .unreadable(let error):
            let what = crio ? "CRI-O config" : "containerd config"
            // Missing where the runtime names it is its configuration's fault.
            guard error.reason == .notFound else { return NodeFileUnreadable.file(error, what: what) }
            return Finding(
                .runtimeConfigInvalid, .error, "The \(what) \(error.path) cannot be read.", hop: error.path, evidence: [error.description],
                remedy: "Check the file; netdoctor reads regular files up to 1 MiB.")
        case .unparsable(let path, let line, let column, let message, let placeholders):
            return Finding(
                .runtimeConfigInvalid, .error,
                crio
                    ? "CRI-O's config \(path) does not parse: CRI-O will not start with it."
                    : "containerd's config \(path) does not parse: containerd will not start with it.",
                hop: path, evidence: ["\(path):\(line):\(column): \(message)"] + placeholders,
                remedy: crio
                    ? "Fix the TOML at line \(line), then restart crio."
                    : "Fix the TOML at line \(line) (render templates and shell variables first), then restart containerd.")
        case .versionOne(let path):
            return Finding(
                .runtimeConfigDeprecated, .warning,
                "\(path) is a version-1 containerd config ([plugins.cri]); containerd 2.x rejects it.",
                hop: path, evidence: ["no top-level version key, or version = 1"],
                remedy: "Add version = 2 and move settings to [plugins.\"io.containerd.grpc.v1.cri\"], or run `containerd config migrate`.")
        case .misplacedSection(let path, let other, let declared):
            let section = { (version: Int) in ContainerdConfigReader.cniSection(version: version).joined(separator: ".") }
            return Finding(
                .runtimeConfigDeprecated, .error,
                "\(path) sets CNI options in the version-\(other) section, but declares version \(declared): containerd ignores them.",
                hop: path, evidence: ["[\(section(other))] present, config version \(declared)"],
                remedy: "Move the keys to [\(section(declared))].")
        case .sandboxImageNotAReference(let sandbox, let path):
            return RuntimeConfigSuspicious.sandboxImageNotAReference(sandbox, path: path)
        case .binDirBesideBinDirs(let path, let binDir, let binDirs):
            return Finding(
                .runtimeConfigDeprecated, .warning,
                "\(path) sets both bin_dir and bin_dirs; bin_dir is deprecated since containerd 2.1.",
                hop: path, evidence: ["bin_dir = \"\(binDir)\"", "bin_dirs = [\(binDirs.map { "\"\($0)\"" }.joined(separator: ", "))]"],
                remedy: "Remove bin_dir and keep bin_dirs.")
        case .legacyPluginDir(let file, let dir):
            return Finding(
                .runtimeConfigDeprecated, .warning,
                "\(file) uses the legacy key plugin_dir; current CRI-O reads plugin_dirs (a list).",
                hop: file, evidence: ["[crio.network] plugin_dir = \"\(dir)\""],
                remedy: "Replace it with plugin_dirs = [\"\(dir)\"].")
        }
    }

    static func nonDefaultDirectories(_ settings: RuntimeSettings, path: String) -> [Finding] {
        let normal = { (p: String) in NodeRoot.normalize(p) }
        var evidence: [String] = []
        if normal(settings.confDir) != RuntimeSettings.defaultConfDir { evidence.append("conf dir \(settings.confDir)") }
        let bins = settings.binDirs.filter { normal($0) != RuntimeSettings.defaultBinDir }
        if !bins.isEmpty { evidence.append("bin dirs \(bins.joined(separator: ", "))") }
        guard !evidence.isEmpty else { return [] }
        return [
            Finding(
                .cniDirsNonDefault, .info,
                "The runtime uses non-default CNI directories: tools and installers that look only at /etc/cni/net.d and /opt/cni/bin find nothing.",
                hop: path, evidence: evidence, remedy: "Install CNI configs and plugins where the runtime looks.")
        ]
    }
}

/// Which runtime the node's CNI config is read for, as CNIDetector chose it: the settings read,
/// and whether the kubelet's endpoint names a runtime this node is not configured for.
struct RuntimeChoice {
    struct Mismatch {
        /// The runtime the kubelet's containerRuntimeEndpoint names.
        var wanted: RuntimeSettings.Name
        var endpoint: String
        /// The other runtime's config, which is present.
        var otherConfig: String
    }

    var settings: RuntimeSettings
    var mismatch: Mismatch?
}

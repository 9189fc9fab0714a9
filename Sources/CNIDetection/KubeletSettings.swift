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

    public init() {
        flags = CommandLineFlags()
        filesRead = []
    }

    /// The runtime the endpoint names.
    public var endpointRuntime: RuntimeSettings.Name? {
        guard let endpoint = containerRuntimeEndpoint?.lowercased() else { return nil }
        if endpoint.contains("containerd") { return .containerd }
        if endpoint.contains("crio") || endpoint.contains("cri-o") { return .crio }
        return .unknown
    }

    /// Fields of a KubeletConfiguration document (or drop-in) laid over these settings.
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
    static let configCandidates = ["/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet/config.json",
                                   "/etc/kubernetes/kubelet/kubelet-config.json", "/etc/kubernetes/kubelet-config.yaml"]
    /// Flags removed from the kubelet, with the release that removed them.
    static let removedFlags: [(flag: String, release: String, value: String?)] = [
        ("--network-plugin", "1.24", nil), ("--cni-conf-dir", "1.24", nil), ("--cni-bin-dir", "1.24", nil),
        ("--cni-cache-dir", "1.24", nil), ("--network-plugin-mtu", "1.24", nil),
        ("--container-runtime", "1.27", "remote"), ("--container-runtime", "1.24", "docker"),
    ]

    public static func read(root: NodeRoot, findings: inout [Finding]) -> KubeletSettings {
        var settings = KubeletSettings()
        var variables: [String: String] = [:]
        var execStart: String? = nil

        let units = unitFiles(root: root)
        for file in units {
            guard let text = readText(file, root: root, findings: &findings) else { continue }
            settings.filesRead.append(file)
            let unit = SystemdUnit.parse(text)
            reportIgnoredLines(unit.ignoredLines, file: file, findings: &findings)
            for directive in unit.directives where directive.section == "Service" {
                switch directive.key {
                case "Environment":
                    for (key, value) in SystemdUnit.environmentAssignments(directive.value) { variables[key] = value }
                case "EnvironmentFile":
                    let optional = directive.value.hasPrefix("-")
                    let path = optional ? String(directive.value.dropFirst()) : directive.value
                    settings.environmentFiles.append(path)
                    if let env = readEnvironment(path, root: root, required: !optional, settings: &settings, findings: &findings) {
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
                if let env = readEnvironment(path, root: root, required: true, settings: &settings, findings: &findings) {
                    for assignment in env.assignments { variables[assignment.key] = assignment.value }
                }
            }
            for name in ["KUBELET_KUBEADM_ARGS", "KUBELET_EXTRA_ARGS", "KUBELET_ARGS", "KUBELET_FLAGS"] {
                words += ShellWords.split(variables[name] ?? "")
            }
        }
        settings.flags = CommandLineFlags(words: words)
        checkFlags(settings.flags, findings: &findings)

        let configPath = settings.flags["--config"] ?? configCandidates.first { root.status($0)?.isRegularFile == true }
        settings.configPath = configPath
        if let named = settings.flags["--config"], root.status(named) == nil {
            findings.append(Finding(.kubeletConfigInvalid, .error,
                                    "The kubelet is started with --config \(named), which does not exist: it will not start.",
                                    hop: named, evidence: ["--config=\(named)", "\(named): no such file"],
                                    remedy: "Write the KubeletConfiguration there (kubeadm join does) or fix the flag."))
        } else if let configPath {
            settings.configPath = configPath
            if let object = readConfiguration(configPath, root: root, findings: &findings) {
                settings.filesRead.append(configPath)
                settings.apply(configuration: object)
                checkConfiguration(object, file: configPath, findings: &findings)
            }
        }
        if let dropInDir = settings.flags["--config-dir"] {
            let base = settings.clusterDNS
            for entry in (try? root.list(dropInDir)) ?? [] where entry.name.hasSuffix(".conf") && entry.status?.isRegularFile == true {
                guard let object = readConfiguration(entry.nodePath, root: root, findings: &findings) else { continue }
                settings.filesRead.append(entry.nodePath)
                settings.apply(configuration: object)
                checkConfiguration(object, file: entry.nodePath, findings: &findings)
                if let base, let dns = object["clusterDNS"]?.array?.compactMap(\.string), dns != base {
                    findings.append(Finding(.kubeletConfigSuspicious, .info,
                                            "The drop-in \(entry.nodePath) overrides clusterDNS of \(configPath ?? "the config").",
                                            hop: entry.nodePath,
                                            evidence: ["base: \(base.joined(separator: ", "))", "drop-in: \(dns.joined(separator: ", "))"]))
                }
            }
        }
        settings.apply(flags: settings.flags)
        let anchor = settings.configPath.flatMap { settings.filesRead.contains($0) ? $0 : nil } ?? settings.filesRead.last
        if let anchor, settings.clusterDNS?.isEmpty ?? true, settings.filesRead.contains(settings.configPath ?? "") {
            findings.append(Finding(.kubeletConfigSuspicious, .warning,
                                    "No clusterDNS is set: pods with dnsPolicy ClusterFirst fall back to the node's resolv.conf and cannot resolve Services.",
                                    hop: anchor, evidence: ["clusterDNS missing from \(settings.filesRead.joined(separator: ", "))"],
                                    remedy: "Set clusterDNS to the cluster DNS Service IP (kubeadm and most installers write it)."))
        }
        if let anchor, settings.containerRuntimeEndpoint == nil, anchor == settings.configPath {
            findings.append(Finding(.kubeletConfigSuspicious, .info,
                                    "No container runtime endpoint is set: the kubelet uses its default, unix:///run/containerd/containerd.sock.",
                                    hop: anchor, evidence: ["neither containerRuntimeEndpoint nor --container-runtime-endpoint in \(settings.filesRead.joined(separator: ", "))"],
                                    remedy: "Set containerRuntimeEndpoint in the KubeletConfiguration when the runtime is not containerd."))
        }
        return settings
    }

    /// The unit and its drop-ins, as systemd finds them: the first kubelet.service along the
    /// unit path, then drop-ins from every directory sorted by name (a name in /etc wins).
    static func unitFiles(root: NodeRoot) -> [String] {
        var files: [String] = []
        if let unit = unitDirectories.map({ NodeRoot.join($0, "kubelet.service") }).first(where: { root.status($0)?.isRegularFile == true }) {
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

    /// A kubelet file that cannot be read: missing is KUBELET_CONFIG_INVALID (something names it),
    /// there but unreadable is NODE_FILE_UNREADABLE.
    static func unreadable(_ error: NodeFileError, what: String) -> Finding {
        guard error.reason == .notFound else { return NodeFileUnreadable.file(error, what: what) }
        return Finding(.kubeletConfigInvalid, .error, "The \(what) \(error.path) cannot be read.", hop: error.path, evidence: [error.description],
                       remedy: "Check the file; netdoctor reads regular files up to 1 MiB.")
    }

    static func readText(_ path: String, root: NodeRoot, findings: inout [Finding]) -> String? {
        do { return try root.readText(path) } catch {
            findings.append(unreadable(error, what: "kubelet file"))
            return nil
        }
    }

    static func readEnvironment(_ path: String, root: NodeRoot, required: Bool, settings: inout KubeletSettings,
                                findings: inout [Finding]) -> EnvironmentFile? {
        if !required && root.status(path) == nil { return nil }
        guard let text = readText(path, root: root, findings: &findings) else { return nil }
        settings.filesRead.append(path)
        let env = EnvironmentFile.parse(text)
        reportIgnoredLines(env.ignoredLines, file: path, findings: &findings)
        for assignment in env.assignments where !assignment.quoted && assignment.value.contains(" ") {
            findings.append(Finding(.kubeletConfigSuspicious, .info,
                                    "\(assignment.key) in \(path) is not quoted: systemd reads it, a shell sourcing the file does not.",
                                    hop: path, evidence: ["\(path):\(assignment.line): \(assignment.key)=\(assignment.value)"],
                                    remedy: "Quote the value: \(assignment.key)=\"…\"."))
        }
        return env
    }

    /// A KubeletConfiguration (or drop-in) as JSON or YAML.
    public static func readConfiguration(_ path: String, root: NodeRoot, findings: inout [Finding]) -> ConfigObject? {
        guard let text = readText(path, root: root, findings: &findings) else { return nil }
        do {
            let trimmed = text.drop(while: { $0.isWhitespace })
            let value = trimmed.hasPrefix("{") ? try JSONParser.parse(text) : try YAMLReader.parse(text)
            if value.isNull { return ConfigObject() }
            guard let object = value.object else {
                findings.append(Finding(.kubeletConfigInvalid, .error, "\(path) is not a KubeletConfiguration object.",
                                        hop: path, evidence: ["the document is \(value.kindName)"],
                                        remedy: "Write it as a KubeletConfiguration mapping."))
                return nil
            }
            return object
        } catch {
            findings.append(Finding(.kubeletConfigInvalid, .error,
                                    "The kubelet configuration \(path) does not parse: the kubelet will not start with it.",
                                    hop: path, evidence: ["\(path):\(error.line):\(error.column): \(error.message)"],
                                    remedy: "Fix the file at line \(error.line), then restart the kubelet."))
            return nil
        }
    }

    static func checkConfiguration(_ object: ConfigObject, file: String, findings: inout [Finding]) {
        for server in object["clusterDNS"]?.array?.compactMap(\.string) ?? [] {
            if server == "0.0.0.0" || server == "::" || IPAddress.parse(server) == nil {
                findings.append(Finding(.kubeletConfigSuspicious, .warning,
                                        "clusterDNS \(server) is not a usable DNS server address: pods will get it in resolv.conf.",
                                        hop: file, evidence: ["\(file): clusterDNS contains \(server)"],
                                        remedy: "Set clusterDNS to the cluster DNS Service IP (kubectl -n kube-system get svc kube-dns)."))
            }
        }
    }

    static func checkFlags(_ flags: CommandLineFlags, findings: inout [Finding]) {
        for flag in flags.flags {
            if let removed = removedFlags.first(where: { $0.flag == flag.name && ($0.value == nil || $0.value == flag.value) }) {
                findings.append(Finding(.kubeletFlagRemoved, .warning,
                                        "The kubelet is started with \(flag.name)=\(flag.value), removed in Kubernetes \(removed.release): a kubelet of \(removed.release) or later will not start.",
                                        hop: "kubelet flags", evidence: ["\(flag.name)=\(flag.value)"],
                                        remedy: flag.name.hasPrefix("--cni") || flag.name.hasPrefix("--network")
                                            ? "Remove it: CNI is configured in the container runtime (containerd conf_dir/bin_dirs, CRI-O network_dir/plugin_dirs)."
                                            : "Remove it and set containerRuntimeEndpoint in the KubeletConfiguration."))
            } else if flag.value.isEmpty {
                findings.append(Finding(.kubeletConfigSuspicious, .warning, "The kubelet flag \(flag.name) has an empty value.",
                                        hop: "kubelet flags", evidence: ["\(flag.name)="],
                                        remedy: "Give it a value or remove it."))
            } else if ["--container-runtime-endpoint", "--pod-infra-container-image"].contains(flag.name) {
                findings.append(Finding(.kubeletConfigSuspicious, .info,
                                        "\(flag.name) is deprecated as a flag; the KubeletConfiguration field replaces it.",
                                        hop: "kubelet flags", evidence: ["\(flag.name)=\(flag.value)"]))
            }
        }
    }

    static func reportIgnoredLines(_ lines: [(line: Int, text: String)], file: String, findings: inout [Finding]) {
        guard !lines.isEmpty else { return }
        findings.append(Finding(.kubeletConfigSuspicious, .warning,
                                "\(file) has \(lines.count == 1 ? "a line" : "lines") systemd ignores with a parse warning.",
                                hop: file, evidence: lines.prefix(3).map { "\(file):\($0.line): \($0.text)" },
                                remedy: "Make the line a comment (#) or a Key=Value assignment."))
    }
}

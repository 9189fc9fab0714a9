import ConfigFormats
import Diagnosis
import NetAddress

/// The kubelet's settings judged: what reading its files met (KubeletReadProblem), its flags,
/// its configuration's values. KUBELET_CONFIG_INVALID, KUBELET_FLAG_REMOVED and
/// KUBELET_CONFIG_SUSPICIOUS are built here only.
public enum KubeletChecks {
    /// Flags removed from the kubelet, with the release that removed them.
    static let removedFlags: [(flag: String, release: String, value: String?)] = [
        ("--network-plugin", "1.24", nil), ("--cni-conf-dir", "1.24", nil), ("--cni-bin-dir", "1.24", nil),
        ("--cni-cache-dir", "1.24", nil), ("--network-plugin-mtu", "1.24", nil),
        ("--container-runtime", "1.27", "remote"), ("--container-runtime", "1.24", "docker"),
    ]

    public static func findings(_ settings: KubeletSettings) -> [Finding] {
        settings.problems.map(finding) + flags(settings.flags) + configuration(settings)
    }

    static func finding(_ problem: KubeletReadProblem) -> Finding {
        switch problem {
        case .unreadable(let error):
            // Missing where something names it is the kubelet's configuration's fault.
            guard error.reason == .notFound else { return NodeFileUnreadable.file(error, what: "kubelet file") }
            return Finding(
                .kubeletConfigInvalid, .error, "The kubelet file \(error.path) cannot be read.", hop: error.path,
                evidence: [error.description],
                remedy: "Check the file; netdoctor reads regular files up to 1 MiB.")
        case .ignoredLines(let file, let lines):
            return Finding(
                .kubeletConfigSuspicious, .warning,
                "\(file) has \(lines.count == 1 ? "a line" : "lines") systemd ignores with a parse warning.",
                hop: file, evidence: lines.prefix(3).map { "\(file):\($0.line): \($0.text)" },
                remedy: "Make the line a comment (#) or a Key=Value assignment.")
        case .unquoted(let path, let assignment):
            return Finding(
                .kubeletConfigSuspicious, .info,
                "\(assignment.key) in \(path) is not quoted: systemd reads it, a shell sourcing the file does not.",
                hop: path, evidence: ["\(path):\(assignment.line): \(assignment.key)=\(assignment.value)"],
                remedy: "Quote the value: \(assignment.key)=\"…\".")
        case .configMissing(let named):
            return Finding(
                .kubeletConfigInvalid, .error,
                "The kubelet is started with --config \(named), which does not exist: it will not start.",
                hop: named, evidence: ["--config=\(named)", "\(named): no such file"],
                remedy: "Write the KubeletConfiguration there (kubeadm join does) or fix the flag.")
        case .configNotAnObject(let path, let kind):
            return Finding(
                .kubeletConfigInvalid, .error, "\(path) is not a KubeletConfiguration object.",
                hop: path, evidence: ["the document is \(kind)"], remedy: "Write it as a KubeletConfiguration mapping.")
        case .configUnparsable(let path, let line, let column, let message):
            return Finding(
                .kubeletConfigInvalid, .error,
                "The kubelet configuration \(path) does not parse: the kubelet will not start with it.",
                hop: path, evidence: ["\(path):\(line):\(column): \(message)"],
                remedy: "Fix the file at line \(line), then restart the kubelet.")
        }
    }

    static func flags(_ flags: CommandLineFlags) -> [Finding] {
        flags.flags.compactMap { flag in
            if let removed = removedFlags.first(where: { $0.flag == flag.name && ($0.value == nil || $0.value == flag.value) }) {
                return Finding(
                    .kubeletFlagRemoved, .warning,
                    "The kubelet is started with \(flag.name)=\(flag.value), removed in Kubernetes \(removed.release): a kubelet of \(removed.release) or later will not start.",
                    hop: "kubelet flags", evidence: ["\(flag.name)=\(flag.value)"],
                    remedy: flag.name.hasPrefix("--cni") || flag.name.hasPrefix("--network")
                        ? "Remove it: CNI is configured in the container runtime (containerd conf_dir/bin_dirs, CRI-O network_dir/plugin_dirs)."
                        : "Remove it and set containerRuntimeEndpoint in the KubeletConfiguration.")
            }
            if flag.value.isEmpty {
                return Finding(
                    .kubeletConfigSuspicious, .warning, "The kubelet flag \(flag.name) has an empty value.",
                    hop: "kubelet flags", evidence: ["\(flag.name)="], remedy: "Give it a value or remove it.")
            }
            if ["--container-runtime-endpoint", "--pod-infra-container-image"].contains(flag.name) {
                return Finding(
                    .kubeletConfigSuspicious, .info, "\(flag.name) is deprecated as a flag; the KubeletConfiguration field replaces it.",
                    hop: "kubelet flags", evidence: ["\(flag.name)=\(flag.value)"])
            }
            return nil
        }
    }

    /// clusterDNS values that are no address, a drop-in overriding the base file's, none at all;
    /// no runtime endpoint.
    static func configuration(_ settings: KubeletSettings) -> [Finding] {
        var findings: [Finding] = []
        for entry in settings.clusterDNSByFile {
            for server in entry.values where server == "0.0.0.0" || server == "::" || IPAddress.parse(server) == nil {
                findings.append(
                    Finding(
                        .kubeletConfigSuspicious, .warning,
                        "clusterDNS \(server) is not a usable DNS server address: pods will get it in resolv.conf.",
                        hop: entry.file, evidence: ["\(entry.file): clusterDNS contains \(server)"],
                        remedy: "Set clusterDNS to the cluster DNS Service IP (kubectl -n kube-system get svc kube-dns)."))
            }
        }
        // A drop-in's clusterDNS different from the configuration file's.
        if let base = settings.clusterDNSByFile.first(where: { $0.file == settings.configPath })?.values {
            for entry in settings.clusterDNSByFile where entry.file != settings.configPath && entry.values != base {
                findings.append(
                    Finding(
                        .kubeletConfigSuspicious, .info,
                        "The drop-in \(entry.file) overrides clusterDNS of \(settings.configPath ?? "the config").",
                        hop: entry.file,
                        evidence: ["base: \(base.joined(separator: ", "))", "drop-in: \(entry.values.joined(separator: ", "))"]))
            }
        }
        let anchor = settings.configPath.flatMap { settings.filesRead.contains($0) ? $0 : nil } ?? settings.filesRead.last
        if let anchor, settings.clusterDNS?.isEmpty ?? true, settings.filesRead.contains(settings.configPath ?? "") {
            findings.append(
                Finding(
                    .kubeletConfigSuspicious, .warning,
                    "No clusterDNS is set: pods with dnsPolicy ClusterFirst fall back to the node's resolv.conf and cannot resolve Services.",
                    hop: anchor, evidence: ["clusterDNS missing from \(settings.filesRead.joined(separator: ", "))"],
                    remedy: "Set clusterDNS to the cluster DNS Service IP (kubeadm and most installers write it)."))
        }
        if let anchor, settings.containerRuntimeEndpoint == nil, anchor == settings.configPath {
            findings.append(
                Finding(
                    .kubeletConfigSuspicious, .info,
                    "No container runtime endpoint is set: the kubelet uses its default, unix:///run/containerd/containerd.sock.",
                    hop: anchor,
                    evidence: [
                        "neither containerRuntimeEndpoint nor --container-runtime-endpoint in \(settings.filesRead.joined(separator: ", "))"
                    ],
                    remedy: "Set containerRuntimeEndpoint in the KubeletConfiguration when the runtime is not containerd."))
        }
        return findings
    }
}

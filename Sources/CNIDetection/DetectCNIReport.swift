import ConfigFormats
import Diagnosis
import NodeFiles
import RuntimeModel

/// The answer of `detect-cni`: the runtime and kubelet facts, every config file and what the
/// runtime makes of it, the active network, and the findings.
public struct DetectCNIReport: Report {
    public let command = "detect-cni"
    public var root: String
    public var runtime: RuntimeSettings
    public var kubelet: KubeletSettings
    public var files: [ConfigFileReading]
    public var ignoredFiles: [String]
    /// The pod network the runtime uses; nil when it loads none.
    public var active: ConfigFileReading?
    public var loadedNetworks: [ConfigFileReading]
    public var uplink: Sourced<Int>?
    public var mtu: Sourced<Int>?
    public var findings: [Finding]
    /// When nothing loads: the file the runtime tried first, described for orientation.
    public var wouldBeActive: ConfigFileReading?
    /// The runtime asked over CRI: its endpoint and, when it answered, who it is.
    public var runtimeAnswer: RuntimeAnswer?

    /// What the runtime said of itself over CRI (Version).
    public struct RuntimeAnswer: Sendable {
        public var endpoint: String
        /// nil when it did not answer.
        public var name: String?
        public var version: String?
        public var apiVersion: String?

        public init(endpoint: String, name: String?, version: String?, apiVersion: String?) {
            self.endpoint = endpoint
            self.name = name
            self.version = version
            self.apiVersion = apiVersion
        }
    }

    public var family: FamilyReading? { active?.family }

    /// Family for the contract: the active network's, "unknown" when there is none.
    public var cniName: String { family?.family ?? "unknown" }

    public var jsonFields: [(String, ConfigValue)] {
        let network = active?.network
        return [
            ("root", .string(root)),
            ("cni", .string(cniName)),
            ("activeConfig", .text(active?.nodePath)),
            ("networkName", .text(network?.name)),
            ("cniVersion", .text(network.flatMap(LibCNI.effectiveVersion))),
            ("plugins", .texts(network?.types ?? [])),
            ("chainingMode", .text(family?.chainingMode)),
            (
                "delegate",
                family?.delegate.map { d in
                    .fields(["cni": .text(d.family), "plugins": .texts(d.types), "source": .string(d.source)])
                } ?? .null
            ),
            ("ipam", active == nil ? .null : .fields(["type": .text(family?.ipamType), "subnets": .texts(family?.subnets ?? [])])),
            ("mtu", .int(mtu?.value)),
            ("mtuSource", .text(mtu?.source)),
            ("configuredMTU", .int(family?.configuredMTU)),
            ("uplinkMTU", .int(uplink?.value)),
            ("encapsulation", .string(family?.encapsulation.value.rawValue ?? "unknown")),
            ("encapsulationSource", .text(family?.encapsulation.source)),
            (
                "runtime",
                .fields([
                    "name": .string(runtime.name.rawValue),
                    "configPath": .text(runtime.configPath),
                    "configVersion": .int(runtime.configVersion),
                    "confDir": .string(runtime.confDir),
                    "binDirs": .texts(runtime.binDirs),
                    "maxConfNum": .int(runtime.maxConfNum),
                    "confTemplate": .text(runtime.confTemplate),
                    "defaultNetwork": .text(runtime.defaultNetwork),
                    "endpoint": .text(runtimeAnswer?.endpoint),
                    "answering": runtimeAnswer?.name.map { name in
                        .fields([
                            "name": .string(name), "version": .text(runtimeAnswer?.version), "apiVersion": .text(runtimeAnswer?.apiVersion),
                        ])
                    } ?? .null,
                ])
            ),
            (
                "kubelet",
                .fields([
                    "configPath": .text(kubelet.configPath),
                    "podCIDR": .text(kubelet.podCIDR),
                    "clusterDNS": .texts(kubelet.clusterDNS),
                    "clusterDomain": .text(kubelet.clusterDomain),
                    "containerRuntimeEndpoint": .text(kubelet.containerRuntimeEndpoint),
                    "maxPods": .int(kubelet.maxPods),
                    "hairpinMode": .text(kubelet.hairpinMode),
                    "resolvConf": .text(kubelet.resolvConf),
                ])
            ),
            ("configFiles", .array(files.map(fileJSON))),
            ("ignoredFiles", .texts(ignoredFiles.map { NodeRoot.join(runtime.confDir, $0) })),
        ]
    }

    private func fileJSON(_ file: ConfigFileReading) -> ConfigValue {
        let state: String
        if file.nodePath == active?.nodePath {
            state = "active"
        } else if loadedNetworks.contains(where: { $0.nodePath == file.nodePath }) {
            state = "loaded"
        } else if file.isLoadable {
            state = "not used"
        } else {
            state = "invalid"
        }
        return .fields([
            "path": .string(file.nodePath),
            "state": .string(state),
            "networkName": .text(file.network?.name),
            "cni": .text(file.family?.family),
            "plugins": .texts(file.network?.types ?? []),
            "error": .text(
                file.loaded.error.map { e in e.position.map { "line \($0.line), column \($0.column): " + e.message } ?? e.message }),
        ])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        var network: [(String, String)] = []
        if let active, let net = active.network, let family {
            network.append(("CNI", style.bold(family.family ?? "unknown") + (family.chainingMode.map { " (chained on \($0))" } ?? "")))
            network.append(("active config", active.nodePath))
            network.append(("network", "\(net.name ?? "(no name)"), cniVersion \(LibCNI.effectiveVersion(net) ?? "none")"))
            network.append(("plugins", net.types.joined(separator: " → ")))
            if let d = family.delegate {
                network.append(
                    (
                        "delegates to",
                        "\(d.family ?? "unknown")\(d.types.isEmpty ? "" : " (" + d.types.joined(separator: " → ") + ")") from \(d.source)"
                    ))
            }
            network.append(
                (
                    "IPAM",
                    (family.ipamType ?? "by the plugin itself")
                        + (family.subnets.isEmpty ? "" : ", " + family.subnets.joined(separator: ", "))
                ))
            network.append(
                (
                    "MTU",
                    mtu.map { "\($0.value) (from \($0.source))" }
                        ?? (family.configuredMTU == 0
                            ? "0 in the conf: detected at runtime, not visible here" : "not set: the plugin decides")
                ))
            if let uplink {
                network.append(("uplink MTU", "\(uplink.value) (\(uplink.source))"))
            } else {
                network.append(("uplink MTU", "not known (no default route, no NIC; --uplink-mtu sets it)"))
            }
            network.append(("encapsulation", "\(family.encapsulation.value.rawValue) (\(family.encapsulation.source))"))
        } else {
            network.append(("CNI", style.red("none loaded")))
            if let would = wouldBeActive {
                network.append(("first file", "\(would.nodePath) (\(would.family?.family ?? "unknown"), does not load)"))
            }
        }
        var runtimeRows: [(String, String)] = [
            (
                "runtime",
                runtime.name.rawValue
                    + (runtime.configPath.map { "  \($0)" + (runtime.configVersion.map { " (version \($0))" } ?? "") }
                        ?? "  (no config file: defaults)")
            ),
            ("conf dir", runtime.confDir + (runtime.maxConfNum.map { "  (max_conf_num \($0))" } ?? "")),
            ("bin dirs", runtime.binDirs.joined(separator: ", ")),
        ]
        if let d = runtime.defaultNetwork { runtimeRows.append(("default network", d)) }
        if let answer = runtimeAnswer {
            runtimeRows.append(
                (
                    "endpoint",
                    answer.endpoint + "  "
                        + (answer.name.map { style.green("answers: \($0) \(answer.version ?? "")") + " (CRI \(answer.apiVersion ?? "?"))" }
                            ?? style.dim("does not answer"))
                ))
        }
        var kubeletRows: [(String, String)] = [("config", kubelet.configPath ?? "not found")]
        if let e = kubelet.containerRuntimeEndpoint { kubeletRows.append(("runtime endpoint", e)) }
        if let c = kubelet.podCIDR { kubeletRows.append(("podCIDR", c)) }
        if let d = kubelet.clusterDNS {
            kubeletRows.append(("clusterDNS", d.joined(separator: ", ") + (kubelet.clusterDomain.map { "  (domain \($0))" } ?? "")))
        }
        if let m = kubelet.maxPods { kubeletRows.append(("maxPods", String(m))) }
        var fileRows: [(String, String)] = []
        for file in files {
            let mark: String
            if file.nodePath == active?.nodePath {
                mark = style.green("active ")
            } else if loadedNetworks.contains(where: { $0.nodePath == file.nodePath }) {
                mark = "loaded "
            } else if file.isLoadable {
                mark = style.dim("unused ")
            } else {
                mark = style.red("invalid")
            }
            fileRows.append((file.fileName, "\(mark) \(file.family?.family ?? "-") \(file.network?.name.map { "\"\($0)\"" } ?? "")"))
        }
        for name in ignoredFiles { fileRows.append((name, style.dim("ignored (not a libcni extension)"))) }
        return [
            HumanSection("Pod network", rows: network),
            HumanSection("Runtime", rows: runtimeRows),
            HumanSection("Kubelet", rows: kubeletRows),
            HumanSection("Conf dir \(runtime.confDir)", rows: fileRows.isEmpty ? [("(empty)", "")] : fileRows),
        ]
    }
}

extension RuntimeStatus {
    /// For detect-cni: the endpoint and who answered on it.
    public var answer: DetectCNIReport.RuntimeAnswer? {
        switch self {
        case .answered(let endpoint, let inventory):
            DetectCNIReport.RuntimeAnswer(
                endpoint: endpoint.named, name: inventory.runtimeName, version: inventory.runtimeVersion,
                apiVersion: inventory.apiVersion)
        case .unavailable(let endpoint, _):
            DetectCNIReport.RuntimeAnswer(endpoint: endpoint.named, name: nil, version: nil, apiVersion: nil)
        case .noEndpoint, .notAsked: nil
        }
    }
}

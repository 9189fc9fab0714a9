import ConfigFormats
import Diagnosis
import NodeFiles
import RuntimeModel

/// What `detect-cni` needs besides the node's files.
public struct DetectionInput: Sendable {
    public var root: NodeRoot
    /// The live kernel's uplink and devices (empty when judging a copied tree).
    public var kernel: KernelView
    /// The uplink MTU to judge against, overriding the kernel's.
    public var uplinkMTU: Int?
    /// Whether to ask the active chain's plugins which versions they support (CNI VERSION).
    public var queryPlugins: Bool
    /// libcni's result cache when the caller read it already (a session reads it once for its
    /// pods too); nil: read here.
    public var cache: [(path: String, entry: CacheEntry)]?

    public init(
        root: NodeRoot, kernel: KernelView = KernelView(), uplinkMTU: Int? = nil, queryPlugins: Bool = true,
        cache: [(path: String, entry: CacheEntry)]? = nil
    ) {
        self.root = root
        self.kernel = kernel
        self.uplinkMTU = uplinkMTU
        self.queryPlugins = queryPlugins
        self.cache = cache
    }
}

/// Reads a node the way its container runtime does and says which CNI configuration is active,
/// what it sets up, and everything wrong with it.
public enum CNIDetector {
    public static func detect(_ input: DetectionInput) -> DetectCNIReport {
        let root = input.root
        var findings: [Finding] = []

        let kubelet = KubeletReader.read(root: root)
        findings += KubeletChecks.findings(kubelet)
        let choice = chooseRuntime(kubelet: kubelet, root: root)
        let runtime = choice.settings
        findings += RuntimeChecks.findings(choice)
        if let systemd = runtime.systemdCgroup, let driver = kubelet.cgroupDriver, !driver.isEmpty,
            (driver == "systemd") != systemd
        {
            findings.append(
                RuntimeConfigSuspicious.cgroupDriverMismatch(kubelet: driver, systemdCgroup: systemd, configPath: runtime.configPath))
        }

        // The conf dir, listed as libcni lists it.
        var readings: [ConfigFileReading] = []
        var ignored: [String] = []
        let entries: [DirectoryEntry]
        do {
            entries = try root.list(runtime.confDir)
        } catch {
            entries = []
            findings.append(NodeFileUnreadable.confDir(runtime.confDir, error))
        }
        var context = FamilyContext(flannelBackend: NodeMTU.flannelBackend(root: root), liveDevices: input.kernel.devices)
        var rawFiles: [(DirectoryEntry, Result<([UInt8], LoadedConfig), NodeFileError>)] = []
        for entry in entries {
            if entry.status?.isDirectory == true { continue }
            guard LibCNI.isConfigFile(entry.name) else {
                ignored.append(entry.name)
                continue
            }
            rawFiles.append(
                (
                    entry,
                    Result { () throws(NodeFileError) in
                        let bytes = try root.read(entry.nodePath)
                        return (bytes, LibCNI.load(bytes: bytes, fileName: entry.name))
                    }
                ))
        }
        // Every network of the dir by file name, for multus's clusterNetwork.
        for case (let entry, .success((_, let loaded))) in rawFiles where loaded.isValid {
            context.siblings[entry.name] = loaded.network
        }
        for (entry, file) in rawFiles {
            switch file {
            case .success((let bytes, let loaded)):
                readings.append(ConfigFileReading.judge(bytes: bytes, nodePath: entry.nodePath, loaded: loaded, context: context))
            case .failure(let error):
                readings.append(.unreadable(nodePath: entry.nodePath, error: error.description))
            }
        }
        if !ignored.isEmpty {
            findings.append(
                Finding(
                    .cniConfigIgnored, .info,
                    "\(ignored.count) file\(ignored.count == 1 ? "" : "s") in \(runtime.confDir) \(ignored.count == 1 ? "is" : "are") not loaded by libcni (not .conf, .conflist or .json).",
                    hop: runtime.confDir, evidence: ignored.map { "\(NodeRoot.join(runtime.confDir, $0)) (ignored)" },
                    remedy: "Nothing to do; remove leftovers (templates, backups) to avoid confusion."))
        }

        let binaries = BinaryLookup(root: root, directories: runtime.binDirs)
        let outcome = RuntimeLoad.simulate(runtime: runtime, readings: readings, binaries: binaries)
        findings += outcome.findings

        var report = DetectCNIReport(
            root: root.displayPath, runtime: runtime, kubelet: kubelet, files: readings,
            ignoredFiles: ignored, active: outcome.active, loadedNetworks: outcome.loaded,
            uplink: nil, mtu: nil, findings: [])
        if let active = outcome.active {
            let facts = active.network.flatMap { network in
                active.family.map {
                    ActiveNetworkFacts.read(active, network: network, family: $0, readings: readings, binaries: binaries, input: input)
                }
            }
            findings += facts.map { judgeActive(active, facts: $0, runtime: runtime, report: &report) } ?? active.problems
        } else if !readings.isEmpty, runtime.confTemplate == nil {
            // Describe what the runtime would have taken, for the operator's orientation.
            report.wouldBeActive = readings.first
        }
        if readings.isEmpty, let template = runtime.confTemplate {
            findings.append(NoConfig.fromTemplate(template, configPath: runtime.configPath))
        }
        findings += cacheFindings(input.cache ?? CacheEntry.readAll(root: root), active: outcome.active)
        report.findings = findings
        return report
    }

    /// Picks the runtime the kubelet talks to, and reads its config (what went wrong reading it
    /// stays in the settings' problems, for RuntimeChecks). Judges nothing.
    static func chooseRuntime(kubelet: KubeletSettings, root: NodeRoot) -> RuntimeChoice {
        let containerdPath = ContainerdConfigReader.candidatePaths.first { root.status($0) != nil }
        let crioPresent =
            root.status(CRIOConfigReader.mainPath) != nil
            || ((try? root.list(CRIOConfigReader.dropInDir)) ?? []).contains { $0.name.hasSuffix(".conf") }
        let wanted = kubelet.endpointRuntime
        let name: RuntimeSettings.Name
        switch wanted {
        case .containerd?: name = .containerd
        case .crio?: name = .crio
        default: name = containerdPath != nil ? .containerd : crioPresent ? .crio : .unknown
        }
        var mismatch: RuntimeChoice.Mismatch? = nil
        if let wanted, wanted != .unknown {
            let configured = wanted == .containerd ? containerdPath != nil : crioPresent
            let other = wanted == .containerd ? crioPresent : containerdPath != nil
            if !configured && other {
                mismatch = RuntimeChoice.Mismatch(
                    wanted: wanted, endpoint: kubelet.containerRuntimeEndpoint ?? "",
                    otherConfig: wanted == .containerd ? CRIOConfigReader.mainPath : containerdPath ?? "")
            }
        }
        let settings: RuntimeSettings
        switch name {
        case .containerd:
            settings = containerdPath.map { ContainerdConfigReader.read(path: $0, root: root) } ?? RuntimeSettings.defaults(.containerd)
        case .crio:
            settings = CRIOConfigReader.read(root: root)
        case .unknown:
            settings = RuntimeSettings.defaults(.unknown)
        }
        return RuntimeChoice(settings: settings, mismatch: mismatch)
    }

    /// The active network judged on its facts (ActiveNetworkFacts, read beforehand): missing
    /// plugins, a stale config winning over an installed one, a version the plugins refuse, a
    /// loopback-only network, an MTU the uplink cannot carry. Pure.
    static func judgeActive(
        _ active: ConfigFileReading, facts: ActiveNetworkFacts, runtime: RuntimeSettings, report: inout DetectCNIReport
    ) -> [Finding] {
        var findings = active.problems
        guard let network = active.network, let family = active.family else { return findings }
        let file = active.nodePath
        for (type, outcome) in facts.missing {
            var evidence = runtime.binDirs.map { "\(NodeRoot.join($0, type)): not found" }
            if case .notExecutable(let path) = outcome { evidence = ["\(path): not executable"] }
            findings.append(BinaryMissing.activeNeeds(type, file: file, evidence: evidence, binDirs: runtime.binDirs))
        }
        if let healthy = facts.installedAlternative {
            findings.append(
                Finding(
                    .cniStaleConfig, .error,
                    "\(active.fileName) wins, but its CNI (\(family.family ?? "unknown")) is not installed here, while \(healthy.fileName) (\(healthy.family?.family ?? "unknown")) is.",
                    hop: file,
                    evidence: [
                        "missing: \(facts.missing.map(\.type).joined(separator: ", "))",
                        "\(healthy.fileName): every plugin present",
                    ],
                    remedy: "Remove \(file), a leftover of a previous CNI, so that \(healthy.fileName) wins."))
        }
        if let refusing = facts.refusingVersion, !refusing.plugins.isEmpty {
            findings.append(VersionUnsupported.refusedByPlugins(file, version: refusing.version, refusing: refusing.plugins))
        }
        if network.types.allSatisfy({ $0 == "loopback" }) {
            findings.append(
                Finding(
                    .cniLoopbackOnly, .error, "The active network \(active.fileName) only sets up loopback: pods get no network interface.",
                    hop: file, evidence: ["plugins: \(network.types.joined(separator: ", "))"],
                    remedy: "Install the pod network's config so that it sorts before \(active.fileName)."))
        }

        // MTU: what pods get, and whether the uplink carries it.
        if let notAnMTU = facts.notAnMTU {
            findings.append(ConfigInvalid.notAnMTU(notAnMTU.text, source: notAnMTU.source, key: notAnMTU.key))
        }
        report.mtu = facts.mtu
        report.uplink = facts.uplink
        if let mtu = facts.mtu, let uplink = facts.uplink, let overhead = family.encapsulation.value.overhead(family: family.family) {
            if mtu.value > uplink.value - overhead {
                let encapsulation = family.encapsulation.value
                findings.append(
                    Finding(
                        .cniMTUTooLarge, .error,
                        "Pods get MTU \(mtu.value), but the uplink carries \(uplink.value)\(overhead > 0 ? " minus \(overhead) bytes of \(encapsulation.rawValue) overhead = \(uplink.value - overhead)" : ""): large packets will be dropped.",
                        hop: file,
                        evidence: [
                            "pod MTU \(mtu.value) from \(mtu.source)", "uplink MTU \(uplink.value) from \(uplink.source)",
                            "\(encapsulation.rawValue) overhead \(overhead) (\(family.encapsulation.source))",
                        ],
                        remedy: "Set the CNI's MTU to \(uplink.value - overhead) or less (\(mtuRemedy(family.family)))."))
            }
        }
        return findings
    }

    public static func mtuRemedy(_ family: String?) -> String {
        switch family {
        case "flannel", "canal": "flannel: net-conf.json Backend MTU, or the interface MTU flannel derives it from"
        case "calico": "calico: veth_mtu in the calico-config ConfigMap, or the Installation's calicoNetwork.mtu"
        case "cilium": "cilium: the mtu Helm value"
        default: "the mtu key of the plugin"
        }
    }

    /// Pods that the result cache says were wired by a network that is no longer the active one.
    static func cacheFindings(_ entries: [(path: String, entry: CacheEntry)], active: ConfigFileReading?) -> [Finding] {
        guard let activeName = active?.network?.name else { return [] }
        let primary = entries.filter { $0.entry.ifName == "eth0" }
        let stale = primary.filter { $0.entry.networkName != nil && $0.entry.networkName != activeName }
        guard !stale.isEmpty else { return [] }
        let names = Set(stale.compactMap(\.entry.networkName)).sorted()
        return [
            Finding(
                .cniStaleConfig, .warning,
                "\(stale.count) pod\(stale.count == 1 ? " was" : "s were") set up by network \(names.joined(separator: ", ")), not by the active \(activeName): they keep the old wiring until recreated.",
                hop: CacheEntry.resultsDirectory,
                evidence: stale.prefix(5).map { "\($0.path): \($0.entry.pod ?? "?") on \($0.entry.networkName ?? "?")" },
                remedy: "Recreate those pods (or drain and reboot the node) after a CNI change.")
        ]
    }
}

import CNIDetection
import ConfigFormats
import Diagnosis
import NodeFiles
import Pods
import RuntimeModel
import TestSupport

/// Reads every file of the shared corpus the way netdoctor reads a node, and compares what it
/// reports with MANIFEST.json's expectations. Each file is placed where it lives on a node.
struct CorpusHarness {
    struct Entry {
        var path: String
        var expected: ConfigObject
    }

    struct Outcome {
        var path: String
        /// Field-by-field differences; empty means an exact reading.
        var misses: [String]
    }

    let corpus: String
    let entries: [Entry]

    init?(corpus: String = Repository.corpus) {
        guard let bytes = Repository.read(corpus + "/MANIFEST.json"),
            let manifest = try? JSONParser.parse(bytes: bytes).array
        else { return nil }
        self.corpus = corpus
        entries = manifest.compactMap { entry in
            guard let path = entry["path"]?.string, let expected = entry["expected"]?.object else { return nil }
            return Entry(path: path, expected: expected)
        }
    }

    func bytes(_ path: String) -> [UInt8] { Repository.read(corpus + "/" + path) ?? [] }

    func check(_ entry: Entry) -> Outcome {
        let top = entry.path.split(separator: "/").first ?? ""
        let misses: [String]
        switch top {
        case "cni": misses = entry.path.hasSuffix("net-conf.json") ? checkFlannelNetConf(entry) : checkNetworkConfig(entry)
        case "kubelet": misses = checkKubelet(entry)
        case "runtime": misses = checkRuntime(entry)
        case "cache": misses = checkCache(entry)
        default: misses = ["unknown corpus area \(top)"]
        }
        return Outcome(path: entry.path, misses: misses)
    }

    // MARK: CNI network configs

    func checkNetworkConfig(_ entry: Entry) -> [String] {
        let name = String(entry.path.split(separator: "/").last!)
        let tree = NodeTree()
        tree.write("/etc/cni/net.d/" + name, bytes: bytes(entry.path))
        placeFlannelNetConf(near: entry.path, in: tree)
        placeClusterNetwork(of: entry.path, in: tree)
        var misses: [String] = []
        let reading: ConfigFileReading
        var flagged: [Finding]
        if LibCNI.isConfigFile(name) {
            let report = CNIDetector.detect(DetectionInput(root: tree.root))
            guard let file = report.files.first(where: { $0.fileName == name }) else { return ["not listed in the conf dir"] }
            reading = file
            flagged =
                file.problems
                + report.findings.filter {
                    $0.hop == file.nodePath && $0.code != .cniBinaryMissing && !file.problems.contains($0)
                }
        } else {
            // Not loaded by libcni: it must be ignored, and its content still read for what it means.
            let report = CNIDetector.detect(DetectionInput(root: tree.root))
            if !report.files.isEmpty || !report.ignoredFiles.contains(name) { misses.append("not ignored by the conf dir scan") }
            reading = ConfigFileReading.judge(
                bytes: bytes(entry.path), nodePath: "/etc/cni/net.d/" + name,
                context: FamilyContext(flannelBackend: flannelBackend(near: entry.path)))
            flagged = reading.problems + report.findings.filter { $0.code == .cniConfigIgnored }
        }
        let e = entry.expected
        let family = reading.family
        compare("valid", e["valid"]?.bool, reading.isUsable, &misses)
        compare("cni", e["cni"]?.string, family?.family, &misses)
        compare("type_chain", e["type_chain"]?.array?.compactMap(\.string), reading.network?.types ?? [], &misses)
        compare("mtu", e["mtu"]?.int, family?.configuredMTU, &misses)
        compare("ipam_type", e["ipam_type"]?.string, family?.ipamType, &misses)
        compare("subnets", e["subnets"]?.array?.compactMap(\.string), family?.subnets ?? [], &misses)
        compare("encapsulation", e["encapsulation"]?.string, family?.encapsulation.value.rawValue, &misses)
        if let mode = e["chaining_mode"]?.string { compare("chaining_mode", mode, family?.chainingMode, &misses) }
        if let delegate = e["delegate_type_chain"]?.array?.compactMap(\.string) {
            compare("delegate_type_chain", delegate, family?.delegate?.types ?? [], &misses)
        }
        if let delegate = e["delegate_cni"]?.string { compare("delegate_cni", delegate, family?.delegate?.family, &misses) }
        comparedProblems(e, flagged + scenarioFindings(about: entry.path), &misses)
        return misses
    }

    /// Findings about a file when its whole scenario folder is the conf dir: problems such as
    /// "shadowed by" exist only beside the other files.
    func scenarioFindings(about path: String) -> [Finding] {
        let dir = String(path[..<path.lastIndex(of: "/")!])
        let name = String(path[path.index(after: path.lastIndex(of: "/")!)...])
        guard !Self.exampleCollections.contains(dir) else { return [] }
        let siblings = ((try? NodeRoot("/").list(corpus + "/" + dir)) ?? []).filter { $0.status?.isRegularFile == true }
        guard siblings.filter({ LibCNI.isConfigFile($0.name) }).count > 1 else { return [] }
        let report = scenarioReport(dir)
        return report.findings.filter { finding in
            finding.code != .cniBinaryMissing && finding.code != .cniConfigIgnored
                && (finding.hop == "/etc/cni/net.d/" + name || finding.evidence.contains { $0.hasPrefix(name + ":") })
        }
    }

    /// Folders that collect unrelated examples from one source; every other folder holds what
    /// one node's net.d would hold (corpus README).
    static let exampleCollections: Set<String> = ["cni/cni-dev-docs", "cni/cni-plugins-testdata", "cni/cni-spec", "cni/edge-cases"]

    /// detect-cni over a whole scenario folder placed as a node's conf dir.
    func scenarioReport(_ dir: String) -> DetectCNIReport {
        let tree = NodeTree()
        for entry in (try? NodeRoot("/").list(corpus + "/" + dir)) ?? [] where entry.status?.isRegularFile == true {
            tree.write("/etc/cni/net.d/" + entry.name, bytes: bytes(dir + "/" + entry.name))
        }
        placeFlannelNetConf(near: dir + "/x", in: tree)
        return CNIDetector.detect(DetectionInput(root: tree.root, queryPlugins: false))
    }

    /// A multus config's clusterNetwork file, when the same scenario holds it: the file the
    /// multus entry depends on, placed beside it as on the node it came from.
    func placeClusterNetwork(of path: String, in tree: NodeTree) {
        guard let object = try? JSONParser.parse(bytes: bytes(path), mode: .lenient),
            let cluster = object["clusterNetwork"]?.string
        else { return }
        let dir = String(path[..<path.lastIndex(of: "/")!])
        let file = String(cluster.split(separator: "/").last ?? "")
        let content = bytes(dir + "/" + file)
        if !content.isEmpty { tree.write("/etc/cni/net.d/" + file, bytes: content) }
    }

    func checkFlannelNetConf(_ entry: Entry) -> [String] {
        var misses: [String] = []
        guard let conf = try? FlannelNetConf.parse(bytes: bytes(entry.path)) else { return ["does not parse"] }
        compare("subnets", entry.expected["subnets"]?.array?.compactMap(\.string), [conf.network].compactMap { $0 }, &misses)
        compare("encapsulation", entry.expected["encapsulation"]?.string, conf.encapsulation.rawValue, &misses)
        return misses
    }

    /// flannel's net-conf.json, where the corpus keeps it beside a scenario, put where the
    /// flannel pod mounts it.
    func placeFlannelNetConf(near path: String, in tree: NodeTree) {
        let dir = String(path[..<path.lastIndex(of: "/")!])
        let conf = bytes(dir + "/flannel-net-conf/net-conf.json")
        if !conf.isEmpty { tree.write("/etc/kube-flannel/net-conf.json", bytes: conf) }
    }

    func flannelBackend(near path: String) -> String? {
        let dir = String(path[..<path.lastIndex(of: "/")!])
        return (try? FlannelNetConf.parse(bytes: bytes(dir + "/flannel-net-conf/net-conf.json")))?.backend
    }

    // MARK: kubelet

    func checkKubelet(_ entry: Entry) -> [String] {
        let name = String(entry.path.split(separator: "/").last!)
        let e = entry.expected
        let tree = NodeTree()
        let content = bytes(entry.path)
        let isDropIn = e["is_dropin"]?.bool == true
        var placed: String
        if entry.path.contains("kubelet.service.d/") || entry.path.contains("systemd-dropins/") {
            placed = "/etc/systemd/system/kubelet.service.d/" + name
        } else if name.hasSuffix(".service") {
            placed = "/etc/systemd/system/kubelet.service"
        } else if name == "kubeadm-flags.env" {
            placed = "/var/lib/kubelet/kubeadm-flags.env"
        } else if entry.path.hasSuffix("default/kubelet") {
            placed = "/etc/default/kubelet"
        } else if isDropIn {
            placed = "/etc/kubernetes/kubelet/config.d/" + name
            tree.write("/etc/default/kubelet", "KUBELET_EXTRA_ARGS=--config-dir=/etc/kubernetes/kubelet/config.d\n")
        } else {
            placed = e["config_path"]?.string ?? "/var/lib/kubelet/config.yaml"
            if !KubeletReaderPaths.known.contains(placed) {
                tree.write("/etc/default/kubelet", "KUBELET_EXTRA_ARGS=--config=\(placed)\n")
            }
        }
        tree.write(placed, bytes: content)
        let settings = KubeletReader.read(root: tree.root)
        let findings = KubeletChecks.findings(settings)
        var misses: [String] = []
        let mine = findings.filter { $0.hop == placed || $0.evidence.contains { $0.contains(placed) } || $0.hop == "kubelet flags" }
        compare("valid", e["valid"]?.bool, !mine.contains { $0.code == .kubeletConfigInvalid }, &misses)
        compare("podCIDR", e["podCIDR"]?.string, settings.podCIDR, &misses)
        compare("clusterDNS", e["clusterDNS"]?.array?.compactMap(\.string), settings.clusterDNS, &misses)
        compare("containerRuntimeEndpoint", e["containerRuntimeEndpoint"]?.string, settings.containerRuntimeEndpoint, &misses)
        if e["cgroupDriver"] != nil { compare("cgroupDriver", e["cgroupDriver"]?.string, settings.cgroupDriver, &misses) }
        if let v = e["maxPods"]?.int { compare("maxPods", v, settings.maxPods, &misses) }
        if let v = e["clusterDomain"]?.string { compare("clusterDomain", v, settings.clusterDomain, &misses) }
        if let v = e["hairpinMode"]?.string { compare("hairpinMode", v, settings.hairpinMode, &misses) }
        if let v = e["config_path"]?.string, !isDropIn { compare("config_path", v, settings.configPath, &misses) }
        if let v = e["env_files"]?.array?.compactMap(\.string) { compare("env_files", v, settings.environmentFiles, &misses) }
        if let flags = e["flags"]?.object {
            for member in flags.members {
                compare("flag \(member.key)", member.value.string, settings.flags[member.key], &misses)
            }
        }
        if let image = e["sandbox_image"]?.string {
            compare("sandbox_image", image, settings.flags["--pod-infra-container-image"], &misses)
        }
        comparedProblems(e, mine, &misses)
        return misses
    }

    // MARK: runtime

    func checkRuntime(_ entry: Entry) -> [String] {
        let e = entry.expected
        let tree = NodeTree()
        let settings: RuntimeSettings
        if e["runtime"]?.string == "cri-o" {
            tree.write(CRIOConfigReader.mainPath, bytes: bytes(entry.path))
            settings = CRIOConfigReader.read(root: tree.root)
        } else {
            tree.write("/etc/containerd/config.toml", bytes: bytes(entry.path))
            settings = ContainerdConfigReader.read(path: "/etc/containerd/config.toml", root: tree.root)
        }
        let findings = RuntimeChecks.findings(settings)
        var misses: [String] = []
        compare("valid", e["valid"]?.bool, settings.configParses, &misses)
        let intended = settings.intended
        compare("conf_dir", e["conf_dir"]?.string, intended["conf_dir"] ?? settings.confDir, &misses)
        if let version = e["config_version"]?.int {
            compare("config_version", version, intended["version"].flatMap { Int($0) } ?? settings.configVersion, &misses)
        }
        switch e["bin_dir"] {
        case .string(let dir)?: compare("bin_dir", [dir], intended["bin_dir"].map { [$0] } ?? settings.binDirs, &misses)
        case .array(let dirs)?: compare("bin_dir", dirs.compactMap(\.string), settings.binDirs, &misses)
        default: break
        }
        compare("max_conf_num", e["max_conf_num"]?.int, intended["max_conf_num"].flatMap { Int($0) } ?? settings.maxConfNum, &misses)
        if let template = e["conf_template"]?.string {
            compare("conf_template", template.isEmpty ? nil : template, intended["conf_template"] ?? settings.confTemplate, &misses)
        }
        if let present = e["cni_section_present"]?.bool, e["runtime"]?.string != "cri-o" {
            compare("cni_section_present", present, settings.cniSectionPresent, &misses)
        }
        if let dirs = e["plugin_dirs"]?.array?.compactMap(\.string) { compare("plugin_dirs", dirs, settings.binDirs, &misses) }
        if let systemd = e["systemd_cgroup"]?.bool { compare("systemd_cgroup", systemd, settings.systemdCgroup ?? false, &misses) }
        comparedProblems(e, findings, &misses)
        return misses
    }

    // MARK: cache

    func checkCache(_ entry: Entry) -> [String] {
        let e = entry.expected
        guard let cache = CacheEntry.parse(bytes: bytes(entry.path)) else { return ["not parsed"] }
        var misses: [String] = []
        compare("valid", e["valid"]?.bool, cache.isValid, &misses)
        compare("networkName", e["networkName"]?.string, cache.networkName, &misses)
        compare("ifName", e["ifName"]?.string, cache.ifName, &misses)
        compare("containerId", e["containerId"]?.string, cache.containerID, &misses)
        compare("type_chain", e["type_chain"]?.array?.compactMap(\.string), cache.types, &misses)
        compare("ips", e["ips"]?.array?.compactMap(\.string), cache.ips, &misses)
        compare("cniVersion", e["cniVersion"]?.string, cache.cniVersion, &misses)
        if let pod = e["pod"]?.string { compare("pod", pod, cache.pod, &misses) }
        if let netns = e["netns"]?.string { compare("netns", netns, cache.netns, &misses) }
        if e["gateway"] != nil { compare("gateway", e["gateway"]?.string, cache.gateway, &misses) }
        comparedProblems(e, cache.problems.map { Finding(.cniConfigSuspicious, .info, $0) }, &misses)
        return misses
    }

    // MARK: comparison

    /// Problems match by meaning, which a program cannot judge; it checks that netdoctor flags a
    /// file exactly when the manifest lists problems for it.
    func comparedProblems(_ e: ConfigObject, _ flagged: [Finding], _ misses: inout [String]) {
        let expected = e["problems"]?.array?.compactMap(\.string) ?? []
        if expected.isEmpty && !flagged.isEmpty {
            misses.append("problems: none expected, flagged \(flagged.map { "\($0.code): \($0.message)" })")
        } else if !expected.isEmpty && flagged.isEmpty {
            misses.append("problems: expected \(expected), flagged none")
        }
    }

    func compare<T: Equatable>(_ field: String, _ expected: T?, _ actual: T?, _ misses: inout [String]) {
        if expected != actual { misses.append("\(field): expected \(String(describing: expected)), read \(String(describing: actual))") }
    }
}

/// Config paths the kubelet reader finds without a --config flag.
enum KubeletReaderPaths {
    static let known: Set<String> = [
        "/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet/config.json",
        "/etc/kubernetes/kubelet/kubelet-config.json", "/etc/kubernetes/kubelet-config.yaml",
    ]
}

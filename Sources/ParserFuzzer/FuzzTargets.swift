// The fuzz targets: one per family of parsers netdoctor runs on untrusted bytes, so that each
// family's coverage guides its own inputs and a slow parser does not set the pace of the fast
// ones. NETDOCTOR_FUZZ_TARGET picks one (scripts/fuzz TARGET); unset, every target runs on each
// input (`all`, what older crash files were found with).
import BPF
import CalicoBPF
import Checks
import Cilium
import CNIDetection
import ConfigFormats
import CRI
import Diagnosis
import DNS
import Firewall
import Hubble
import NetAddress
import NetlinkCodec
import NodeCheck
import NodeFiles
import PathFacts
import Pods
import RuntimeModel
import Services
import Trace
import YAMLFormat

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// One family's parsers, run on each input; `maxLength`: libFuzzer's -max_len for it.
struct FuzzTarget: Sendable {
    var name: String
    var summary: String
    var maxLength: Int = 16384
    var run: @Sendable (_ bytes: [UInt8], _ text: String) -> Void
}

enum FuzzTargets {
    /// The targets NETDOCTOR_FUZZ_TARGET names (every one when unset or "all"); an unknown name
    /// ends the run with the list, before libFuzzer starts.
    static let selected: [FuzzTarget] = {
        guard let raw = getenv("NETDOCTOR_FUZZ_TARGET"), case let name = String(cString: raw), !name.isEmpty, name != "all" else {
            return all
        }
        guard let target = all.first(where: { $0.name == name }) else {
            fputs("ParserFuzzer: no target \(name); targets: \(all.map(\.name).joined(separator: " "))\n", stderr)
            exit(2)
        }
        return [target]
    }()

    /// `--list`: name, max length and summary, one target a line.
    static var listing: String { all.map { "\($0.name)\t\($0.maxLength)\t\($0.summary)" }.joined(separator: "\n") + "\n" }

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "json", summary: "JSON, strict and lenient") { bytes, _ in
            _ = try? JSONParser.parse(bytes: bytes)
            _ = try? JSONParser.parse(bytes: bytes, mode: .lenient)
        },
        FuzzTarget(name: "cni-conf", summary: "CNI network configs judged as libcni loads them; flannel's net-conf; pools and bridges") {
            bytes, text in
            for name in ["x.conflist", "x.conf"] {
                _ = ConfigFileReading.judge(bytes: bytes, nodePath: "/etc/cni/net.d/" + name, context: FamilyContext())
            }
            _ = try? FlannelNetConf.parse(bytes: bytes)
            if let network = LibCNI.load(bytes: bytes, fileName: "x.conflist").network {
                let pools = HostLocalPools.of(network, file: "x", flannelEnvironment: EnvironmentFile.parse(text)).pools
                _ = BridgeExpectation.of(network, file: "x", pools: pools)
            }
        },
        FuzzTarget(name: "cni-cache", summary: "libcni's result cache and the pods made of it; cache file names") { bytes, text in
            if let entry = CacheEntry.parse(bytes: bytes) {
                // One container id: two entries of one sandbox (a directory of different ones would
                // stat the netns paths the input names).
                let pods = PodDirectory(cacheEntries: [entry, entry])
                for pod in pods.pods { _ = (pod.addresses, pod.primaryAddress(), pod.primaryInterface, pod.sourceJSON) }
                for query in ["10.0.0.1", "::1", "a/b", entry.podName ?? "x"] { _ = try? pods.find(query) }
            }
            _ = CacheEntry.containerID(inFileName: text)
        },
        FuzzTarget(name: "cri", summary: "the runtime's CRI answers (protobuf) and the verbose info's JSON") { bytes, text in
            if let list = try? Runtime_V1_ListPodSandboxResponse(serializedBytes: bytes),
                let status = try? Runtime_V1_PodSandboxStatusResponse(serializedBytes: bytes)
            {
                _ = RuntimeInventory(RuntimeAnswers(version: Runtime_V1_VersionResponse(), list: list, statuses: [status]))
            }
            if let status = try? Runtime_V1_StatusResponse(serializedBytes: bytes) { _ = RuntimeClient.conditions(status) }
            _ = SandboxInfo.networkNamespacePath(["info": text])
        },
        FuzzTarget(name: "agent-json", summary: "what agents are sent and answer: trace requests, remote halves, findings") { bytes, _ in
            guard let json = try? JSONParser.parse(bytes: bytes) else { return }
            _ = RemoteTraceRequest(json: json)
            _ = ProbeSignature(json: json)
            _ = RemoteHalfView(json: json)
            _ = Finding(json: json)
            _ = KernelDropFact(json: json)
            _ = AttachedProgram(json: json)
        },
        FuzzTarget(name: "yaml", summary: "YAML (the kubelet's config)") { _, text in _ = try? YAMLReader.parse(text) },
        FuzzTarget(name: "toml", summary: "TOML (containerd's and CRI-O's config)") { _, text in _ = try? TOMLReader.parse(text) },
        FuzzTarget(name: "env-systemd", summary: "environment files and systemd units") { _, text in
            _ = EnvironmentFile.parse(text)
            _ = SystemdUnit.parse(text)
        },
        FuzzTarget(name: "kubelet-flags", summary: "the kubelet's command line: shell words, expansion, flags") { _, text in
            _ = CommandLineFlags(words: ShellWords.split(ShellWords.expand(text, variables: ["A": "b"])))
        },
        FuzzTarget(name: "rtnetlink", summary: "rtnetlink dumps: links, addresses, routes, neighbours, tc, netconf, nsids") { bytes, _ in
            for message in (try? NetlinkMessage.parseAll(bytes)) ?? [] {
                _ = try? Link(message)
                _ = try? FamilyConfig(message)
                _ = try? NeighborTableInfo(message)
                _ = try? Qdisc(message)
                _ = try? TrafficControlFilter(message)
                _ = try? InterfaceAddress(message)
                _ = try? Route(message)
                _ = try? Neighbor(message)
                _ = try? NamespaceID(message)
                _ = try? NetlinkErrorMessage(message)
                _ = try? RouteHeader(parsing: message.payload).bytes
                _ = try? LinkHeader(parsing: message.payload).bytes
            }
        },
        FuzzTarget(name: "ctnetlink", summary: "conntrack entries and statistics over netlink") { bytes, _ in
            for message in (try? NetlinkMessage.parseAll(bytes)) ?? [] {
                _ = try? Conntrack.entry(message)
                _ = try? Conntrack.statistics(message)
            }
        },
        FuzzTarget(name: "nf-tables", summary: "nf_tables tables, chains, rules and trace events; queued packets") { bytes, _ in
            for message in (try? NetlinkMessage.parseAll(bytes)) ?? [] {
                _ = try? NFTables.table(message)
                _ = try? NFTables.chain(message)
                _ = try? NFTables.rule(message)
                _ = try? NFTables.rule(expressionsOf: message)
                _ = try? NFTables.generation(message)
                _ = try? NFTables.traceEvent(message)
                _ = try? NFQueue.queuedPacket(message)
            }
        },
        FuzzTarget(name: "ipvs", summary: "IPVS over generic netlink: family id, services, destinations") { bytes, _ in
            for message in (try? NetlinkMessage.parseAll(bytes)) ?? [] {
                _ = try? IPVS.familyID(message)
                _ = try? IPVS.service(message, family: message.type)
                _ = try? IPVS.destination(message, family: message.type, serviceFamily: 2)
            }
        },
        FuzzTarget(name: "kube-proxy-iptables", summary: "kube-proxy's rules as iptables-save prints them; a Service as a user names it") {
            bytes, text in
            let table = IptablesServices.table(fromSave: bytes)
            if let query = ServiceQuery.parse(text) { _ = query.matches(in: table) }
        },
        FuzzTarget(name: "kube-proxy-netlink", summary: "kube-proxy's iptables-nft rules read from nf_tables directly", maxLength: 65536) {
            bytes, _ in
            if let messages = try? NetlinkMessage.parseAll(bytes) { _ = IptablesServices.table(fromNetlink: messages, filter: messages) }
        },
        FuzzTarget(name: "kube-proxy-nftables", summary: "kube-proxy's nftables rules as nft -j prints them", maxLength: 65536) {
            bytes, _ in _ = NftablesServices.table(fromJSON: [bytes])
        },
        FuzzTarget(name: "kube-proxy-ipvs", summary: "/proc/net/ip_vs") { _, text in _ = IPVSServices.table(procText: text) },
        FuzzTarget(name: "kube-proxy-status", summary: "kube-proxy's metrics and /configz") { bytes, text in
            _ = KubeProxyStatus.parse(metrics: text)
            _ = KubeProxyConfig.parse(json: bytes)?.detectorMissing
        },
        FuzzTarget(name: "policy-chains", summary: "policy engines' chains (iptables-save, nft JSON) read for attribution") { bytes, _ in
            _ = NftablesReader.nativeTables(json: bytes)
            for rules in [FirewallReader.parse(bytes: bytes), NftablesReader.parse(json: bytes)] {
                for endpoint in PolicyChains.endpoints(in: rules) { _ = endpoint.selecting.map(\.title) }
                for rule in rules.prefix(64) where rule.drops { _ = PolicyChains.explain(rule, in: rules) }
                _ = QueuedPolicy.fromIptables(rules)
            }
            _ = QueuedPolicy.parse(json: bytes, family: "inet")
        },
        FuzzTarget(name: "dns-message", summary: "DNS answers off the wire", maxLength: 4096) { bytes, _ in
            _ = try? DNSResponse(parsing: bytes)
        },
        FuzzTarget(name: "resolv-conf", summary: "a pod's resolv.conf and the names it makes of a query") { _, text in
            let conf = ResolvConf.parse(text)
            if let name = DNSName(String(text.prefix(300))) { _ = conf.candidates(for: name) }
        },
        FuzzTarget(
            name: "procfs-sysctl", summary: "procfs and sysctl text: neighbour tables, port ranges, conntrack, queues, kallsyms, udev"
        ) {
            bytes, text in
            _ = NeighborTableFill.parse(statistics: text, family: .ipv4)
            _ = LocalPortRanges.parse(range: text, reserved: text)
            _ = LocalPortRanges.portList(text)
            _ = ConntrackFill.parse(count: text, max: text)
            _ = QueueListener.parse(text)
            _ = KernelSymbols.name([0xffff_ffff_8100_0010, 42], kallsyms: text)
            _ = UdevMACPolicy.linkFiles(text)
            _ = UdevMACPolicy.persistentMAC(machineID: Array(bytes.prefix(16)), name: String(text.prefix(15)))
        },
        FuzzTarget(name: "ipam-files", summary: "IPAM state: host-local's reservations, ranges, Azure's file, AWS's checkpoint") {
            bytes, text in
            _ = HostLocalStore.parse(text)
            if let json = try? JSONParser.parse(bytes: bytes) { _ = IPAMRange(json)?.capacity }
            _ = AzureIPAM.usage(bytes, file: "f", source: "s", known: [])
            _ = AWSIPAMCheckpoint.reservations(bytes, file: "f")
        },
        FuzzTarget(name: "journal", summary: "the runtime's and the kubelet's logs: lines, journalctl's JSON, log files") { bytes, text in
            _ = SandboxLog.failure(in: text[...], time: nil, source: "fuzz")
            _ = SandboxFailures.group(
                SandboxFailures.fromJournal(bytes, since: 0) + SandboxFailures.fromLogFile(bytes[...], source: "fuzz", since: 0))
        },
        FuzzTarget(name: "bpf-records", summary: "the drop-reason program's ring buffer records", maxLength: 4096) { bytes, _ in
            for start in stride(from: 0, to: bytes.count, by: DropEventRecord.size) {
                _ = DropEventRecord.parse(
                    bytes[start..<min(start + DropEventRecord.size, bytes.count)], names: DropReasonNames(names: [3: "NO_SOCKET"]))
            }
        },
        FuzzTarget(
            name: "bpf-map-values", summary: "BPF map values and link information: Cilium's maps of every layout, Calico's counters",
            maxLength: 1024
        ) {
            bytes, _ in
            // cilium_metrics entries as a map read gives them: an 8-byte key, 16-byte values per CPU.
            if bytes.count >= 8 {
                let values = stride(from: 8, to: bytes.count, by: 16).map { Array(bytes[$0..<min($0 + 16, bytes.count)]) }
                _ = CiliumMetrics(entries: [BPFMapEntry(key: Array(bytes[0..<8]), values: values)]).drops(since: CiliumMetrics(entries: []))
            }
            if bytes.count >= 20 { _ = CiliumEndpoint(key: Array(bytes.prefix(20)), value: Array(bytes.dropFirst(20).prefix(48))) }
            if bytes.count >= 12 {
                _ = CiliumPolicyEntry(key: Array(bytes.prefix(12)), value: Array(bytes.dropFirst(12).prefix(24)))?.summary
                _ = CiliumPolicyEntry(key: Array(bytes.prefix(12)), value: Array(bytes.dropFirst(12).prefix(8)))
            }
            if let address = IPAddress.parse("10.0.0.1") {
                _ = CiliumIdentity(address: address, value: Array(bytes.prefix(12)))
                _ = CiliumIdentity(address: address, value: Array(bytes.prefix(24)))
            }
            _ = CiliumServiceConnection(map: "cilium_ct4_global", entry: Array(bytes.prefix(56)))
            // Calico's counters: an 8-byte key, then per-CPU blocks of each release's size.
            if bytes.count >= 8 {
                for layout in CalicoCounters.layouts {
                    let size = Int(layout.valueSize)
                    let values = stride(from: 8, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
                    let read = CalicoCounters.counters([BPFMapEntry(key: Array(bytes[0..<8]), values: values)], layout: layout)
                    _ = CalicoCounters.drops(before: [:], after: read).map(\.reasonText)
                }
            }
            _ = BPFLink(info: bytes)
        },
        FuzzTarget(name: "btf", summary: "BTF blobs (a map's own, the kernel's): one that lies") { bytes, _ in _ = try? BTF.parse(bytes) },
        FuzzTarget(name: "hubble", summary: "Hubble's flows and GetFlows answers (protobuf)") { bytes, _ in
            if let flow = try? Flow_Flow(serializedBytes: bytes) { _ = HubbleFlow(flow) }
            if let answer = try? Observer_GetFlowsResponse(serializedBytes: bytes), case .flow(let flow) = answer.responseTypes {
                _ = HubbleFlow(flow)
            }
        },
        FuzzTarget(name: "probe-replies", summary: "what probes hear back: ARP replies, neighbour advertisements; recorded lookups") {
            bytes, text in
            _ = AddressClaimProbe.claimant(of: IPAddress.parse("10.244.1.3")!, in: bytes[...])
            _ = AddressClaimProbe.advertiser(of: IPAddress.parse("fd00:77::2")!, in: bytes[...])
            _ = RouteQuery(recorded: text)
        },
    ]
}

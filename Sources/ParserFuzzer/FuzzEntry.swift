// libFuzzer target over every parser netdoctor runs on untrusted bytes: node files, the
// kernel's netlink messages and the container runtime's CRI answers. scripts/fuzz builds it with
// -sanitize=fuzzer -DFUZZING, where libFuzzer supplies main(); a plain build replays the files
// named on the command line through the same entry point, to reproduce a crash.
import BPF
import Checks
import Cilium
import Hubble
import CNIDetection
import CRI
import DNS
import Firewall
import ConfigFormats
import RuntimeModel
import YAMLFormat
import Diagnosis
import Pods
import Trace
import NetAddress
import NetlinkCodec
import PathFacts
import NodeCheck
import NodeFiles
import Services

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? JSONParser.parse(bytes: bytes)
    _ = try? JSONParser.parse(bytes: bytes, mode: .lenient)
    for name in ["x.conflist", "x.conf"] {
        _ = ConfigFileReading.judge(bytes: bytes, nodePath: "/etc/cni/net.d/" + name, context: FamilyContext())
    }
    if let entry = CacheEntry.parse(bytes: bytes) {
        // A pod made of this entry: its addresses, attachments and lookups by every form.
        let pods = PodDirectory(cacheEntries: [entry, entry])
        for pod in pods.pods { _ = (pod.addresses, pod.primaryAddress(), pod.primaryInterface, pod.sourceJSON) }
        for query in ["10.0.0.1", "::1", "a/b", entry.podName ?? "x"] { _ = try? pods.find(query) }
    }
    // The runtime's answers (protobuf off its socket) and the verbose info's JSON.
    if let list = try? Runtime_V1_ListPodSandboxResponse(serializedBytes: bytes),
        let status = try? Runtime_V1_PodSandboxStatusResponse(serializedBytes: bytes)
    {
        _ = RuntimeInventory(RuntimeAnswers(version: Runtime_V1_VersionResponse(), list: list, statuses: [status]))
    }
    _ = SandboxInfo.networkNamespacePath(["info": text])
    // What another node's agent is sent and answers (every agent request body, the remote half).
    if let json = try? JSONParser.parse(bytes: bytes) {
        _ = RemoteTraceRequest(json: json)
        _ = ProbeSignature(json: json)
        _ = RemoteHalfView(json: json)
        _ = Finding(json: json)
        _ = KernelDropFact(json: json)
        _ = AttachedProgram(json: json)
    }
    // The drop-reason program's records (its ring buffer's bytes, 72 each) and kallsyms text.
    for start in stride(from: 0, to: bytes.count, by: DropEventRecord.size) {
        _ = DropEventRecord.parse(
            bytes[start..<min(start + DropEventRecord.size, bytes.count)], names: DropReasonNames(names: [3: "NO_SOCKET"]))
    }
    _ = KernelSymbols.name([0xffff_ffff_8100_0010, 42], kallsyms: text)
    // cilium_metrics entries as a map read gives them: an 8-byte key, 16-byte values per CPU.
    if bytes.count >= 8 {
        let values = stride(from: 8, to: bytes.count, by: 16).map { Array(bytes[$0..<min($0 + 16, bytes.count)]) }
        let metrics = CiliumMetrics(entries: [BPFMapEntry(key: Array(bytes[0..<8]), values: values)])
        _ = metrics.drops(since: CiliumMetrics(entries: []))
    }
    // cilium_lxc, policy-map entries and BPF link information as the kernel hands them back.
    if bytes.count >= 20 { _ = CiliumEndpoint(key: Array(bytes.prefix(20)), value: Array(bytes.dropFirst(20).prefix(48))) }
    if bytes.count >= 12 {
        _ = CiliumPolicyEntry(key: Array(bytes.prefix(12)), value: Array(bytes.dropFirst(12).prefix(24)))?.summary
        _ = CiliumPolicyEntry(key: Array(bytes.prefix(12)), value: Array(bytes.dropFirst(12).prefix(8)))
    }
    // ipcache values (1.14-1.17's 12 bytes, 1.18's 24), conntrack entries, a BTF blob that lies.
    if let address = IPAddress.parse("10.0.0.1") {
        _ = CiliumIdentity(address: address, value: Array(bytes.prefix(12)))
        _ = CiliumIdentity(address: address, value: Array(bytes.prefix(24)))
    }
    _ = CiliumServiceConnection(map: "cilium_ct4_global", entry: Array(bytes.prefix(56)))
    _ = try? BTF.parse(bytes)
    // Hubble's answers as its socket would send them (a flow, a GetFlows response).
    if let flow = try? Flow_Flow(serializedBytes: bytes) { _ = HubbleFlow(flow) }
    if let answer = try? Observer_GetFlowsResponse(serializedBytes: bytes), case .flow(let flow) = answer.responseTypes {
        _ = HubbleFlow(flow)
    }
    _ = BPFLink(info: bytes)
    _ = try? FlannelNetConf.parse(bytes: bytes)
    _ = try? YAMLReader.parse(text)
    _ = try? TOMLReader.parse(text)
    _ = EnvironmentFile.parse(text)
    _ = SystemdUnit.parse(text)
    _ = CommandLineFlags(words: ShellWords.split(ShellWords.expand(text, variables: ["A": "b"])))
    if let messages = try? NetlinkMessage.parseAll(bytes) {
        for message in messages {
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
            _ = try? NFTables.table(message)
            _ = try? NFTables.chain(message)
            _ = try? NFTables.rule(message)
            _ = try? NFTables.rule(expressionsOf: message)
            _ = try? NFTables.generation(message)
            _ = try? NFTables.traceEvent(message)
            _ = try? NFQueue.queuedPacket(message)
            _ = try? Conntrack.entry(message)
            _ = try? Conntrack.statistics(message)
            _ = try? IPVS.familyID(message)
            _ = try? IPVS.service(message, family: message.type)
            _ = try? IPVS.destination(message, family: message.type, serviceFamily: 2)
            _ = try? RouteHeader(parsing: message.payload).bytes
            _ = try? LinkHeader(parsing: message.payload).bytes
        }
    }
    // What the engine reads besides netlink: an ARP reply off the segment, a recording's lookup
    // keys, cache file names, nft's table list.
    _ = AddressClaimProbe.claimant(of: IPAddress.parse("10.244.1.3")!, in: bytes[...])
    _ = AddressClaimProbe.advertiser(of: IPAddress.parse("fd00:77::2")!, in: bytes[...])
    _ = RouteQuery(recorded: text)
    _ = CacheEntry.containerID(inFileName: text)
    _ = NftablesReader.nativeTables(json: bytes)
    // kube-proxy's state: iptables-save's output, nft's JSON, /proc/net/ip_vs, its metrics, a
    // Service as a user names it.
    _ = IptablesServices.table(fromSave: bytes)
    // A node's policy engine chains (iptables-save, nft's JSON), read for attribution.
    for rules in [FirewallReader.parse(bytes: bytes), NftablesReader.parse(json: bytes)] {
        for endpoint in PolicyChains.endpoints(in: rules) { _ = endpoint.selecting.map(\.title) }
        for rule in rules.prefix(64) where rule.drops { _ = PolicyChains.explain(rule, in: rules) }
        _ = QueuedPolicy.fromIptables(rules)
    }
    // kube-network-policies' table (nft JSON) and the kernel's queue table (procfs text).
    _ = QueuedPolicy.parse(json: bytes, family: "inet")
    _ = QueueListener.parse(text)
    // A DNS answer from whatever listens on a nameserver's address, a pod's resolv.conf.
    _ = try? DNSResponse(parsing: bytes)
    let conf = ResolvConf.parse(text)
    if let name = DNSName(String(text.prefix(300))) { _ = conf.candidates(for: name) }
    if let messages = try? NetlinkMessage.parseAll(bytes) { _ = IptablesServices.table(fromNetlink: messages, filter: messages) }
    _ = NftablesServices.table(fromJSON: [bytes])
    _ = IPVSServices.table(procText: text)
    _ = KubeProxyStatus.parse(metrics: text)
    _ = KubeProxyConfig.parse(json: bytes)?.detectorMissing
    if let query = ServiceQuery.parse(text) { _ = query.matches(in: IptablesServices.table(fromSave: bytes)) }
    // check's readers: a host-local reservation file, /proc/net/stat, the port-range sysctls,
    // the conntrack fill, an IPAM range and a network's pools, the runtime's Status answer.
    _ = HostLocalStore.parse(text)
    _ = NeighborTableFill.parse(statistics: text, family: .ipv4)
    _ = LocalPortRanges.parse(range: text, reserved: text)
    _ = LocalPortRanges.portList(text)
    _ = ConntrackFill.parse(count: text, max: text)
    if let json = try? JSONParser.parse(bytes: bytes) { _ = IPAMRange(json)?.capacity }
    if let network = LibCNI.load(bytes: bytes, fileName: "x.conflist").network {
        let pools = HostLocalPools.of(network, file: "x", flannelEnvironment: EnvironmentFile.parse(text)).pools
        _ = BridgeExpectation.of(network, file: "x", pools: pools)
    }
    // udev's database record of a link (which .link file applied), a machine id's hash.
    _ = UdevMACPolicy.linkFiles(text)
    _ = UdevMACPolicy.persistentMAC(machineID: Array(bytes.prefix(16)), name: String(text.prefix(15)))
    if let status = try? Runtime_V1_StatusResponse(serializedBytes: bytes) { _ = RuntimeClient.conditions(status) }
    // The cloud CNIs' IPAM state: Azure's file, AWS's ipamd checkpoint.
    _ = AzureIPAM.usage(bytes, file: "f", source: "s", known: [])
    _ = AWSIPAMCheckpoint.reservations(bytes, file: "f")
    // The runtime's and the kubelet's logs: a line, journalctl's JSON, a log file.
    _ = SandboxLog.failure(in: text[...], time: nil, source: "fuzz")
    _ = SandboxFailures.group(
        SandboxFailures.fromJournal(bytes, since: 0) + SandboxFailures.fromLogFile(bytes[...], source: "fuzz", since: 0))
    return 0
}

#if FUZZING
    // SwiftPM links an executable's entry point as `<module>_main`; with libFuzzer, that entry hands
    // control to libFuzzer's driver, which parses its flags and calls fuzzOneInput.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    @_cdecl("ParserFuzzer_main")
    public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
    }
#endif

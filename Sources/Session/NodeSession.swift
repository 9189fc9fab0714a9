import CalicoBPF
import Checks
import Cilium
import CNIDetection
import Diagnosis
import Hubble
import Inspection
import KernelState
import NetAddress
import NodeFiles
import PathFacts
import PathMTU
import Pods
import RuntimeModel
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// What one command, or one agent request, knows of the node, built once and read lazily: the
/// root, the namespaces, the pods (the runtime's and libcni's cache), this node's kernel read
/// through one handle per namespace, the CNI facts MTU remedies need, and how to reach other
/// nodes' agents. The CLI parses and renders around it; the agent adds HTTP, auth and limits;
/// both call the same operations here (as SwiftPM's commands run on a SwiftCommandState).
public final class NodeSession: @unchecked Sendable {
    public let root: NodeRoot
    public let runtimeEndpoint: String?
    let kubelet: KubeletSettings?
    /// Where a trace asks other nodes' agents; nil: this node's view only.
    public let agents: AgentLocator?

    public private(set) lazy var directory = NamespaceDirectory(root: root)
    /// The pods (names or IPs) this command will name: only their sandboxes' status is asked of
    /// the runtime (one round trip each); nil: every pod's.
    public let podsNamed: [String]?
    public private(set) lazy var pods = PodDirectory.load(
        root: root, endpoint: runtimeEndpoint, kubeletEndpoint: kubeletRuntimeEndpoint,
        interest: podsNamed, cache: podsNamed?.isEmpty == false ? nil : resultCache)
    /// libcni's result cache, read once for whoever needs all of it (the pods when none is named,
    /// check's configuration).
    public private(set) lazy var resultCache = CacheEntry.readAllReportingDenied(root: root)

    /// The kubelet's containerRuntimeEndpoint under the root: read only when no endpoint was given.
    var kubeletRuntimeEndpoint: String? {
        guard runtimeEndpoint == nil else { return nil }
        return (kubelet ?? KubeletReader.read(root: root)).containerRuntimeEndpoint
    }
    /// This node's kernel, for what only a live kernel does (probes, captures, sockets); with
    /// NETDOCTOR_RECORD_FACTS set, every answer is also recorded there (scripts/record-path-facts
    /// makes the unit tests' fixtures so).
    public private(set) lazy var node = LiveNode(directory: directory, recordingTo: Self.environment("NETDOCTOR_RECORD_FACTS"))
    /// Where reads of the kernel's state are answered: the access the session was given (a
    /// recording, in the unit tests), else this node's kernel.
    public var kernel: any NodeAccess { givenKernel ?? node }
    private let givenKernel: (any NodeAccess)?
    /// How to set the pod MTU with this node's CNI: detect-cni runs only when an MTU finding asks.
    public private(set) lazy var mtuRemedy: String = CNIDetector.mtuRemedy(
        CNIDetector.detect(DetectionInput(root: root, queryPlugins: false)).family?.family)

    /// `kernel`: how the kernel's state is read (a RecordedNode replays a recording); nil: this
    /// node's, live. The root, the runtime endpoint and the agents are given the same way.
    public init(
        root: NodeRoot, runtimeEndpoint: String?, kubelet: KubeletSettings? = nil, agents: AgentLocator? = nil,
        podsNamed: [String]? = nil, kernel: (any NodeAccess)? = nil
    ) {
        self.root = root
        givenKernel = kernel
        self.podsNamed = podsNamed
        self.runtimeEndpoint = runtimeEndpoint
        self.kubelet = kubelet
        self.agents = agents
    }

    /// An environment variable's value; nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: naming things

    /// A pod of this node by NAME, NAMESPACE/NAME or IP.
    public func pod(_ query: String) throws -> Pod { try pods.find(query) }

    /// A pod's address in a family (IPv4 when not said, else its only one): what its probes are
    /// sent from and to.
    public func address(of pod: Pod, family: IPFamily? = nil) throws -> IPAddress {
        guard let address = family.map({ pod.primaryAddress($0) }) ?? (pod.primaryAddress(.ipv4) ?? pod.primaryAddress(.ipv6)) else {
            throw SessionError("\(pod.fullName) has no \(family.map { "\($0) " } ?? "")address (from \(pod.sourceDescription))")
        }
        return address
    }

    /// The pod of this node holding a Service endpoint's address: among the pods the command
    /// named, else in libcni's cache (a Service's endpoints are pods nobody named).
    func endpointPod(holding address: IPAddress) -> Pod? {
        pods.pod(holding: address) ?? (podsNamed == nil ? nil : PodDirectory(root: root).pod(holding: address))
    }

    /// A destination as given, in each family the trace covers: an IP (its own family; a pod of
    /// this node's when one holds it), a remote pod's two podIPs, or a pod's name (every family
    /// both pods have, or `family`).
    public func destinations(
        _ text: String, from source: Pod, family: IPFamily? = nil
    ) throws -> [(name: String, address: IPAddress, pod: Pod?)] {
        if let pair = try Self.podIPs(text) {
            let wanted = pair.filter { (family == nil || $0.family == family) && source.primaryAddress($0.family) != nil }
            guard !wanted.isEmpty else {
                throw SessionError("\(source.fullName) shares no family with \(text)\(family.map { " in \($0)" } ?? "")")
            }
            return try wanted.map { try destination(address: $0, text: $0.description, from: source, family: nil) }
        }
        // "[fd00::2]:80": the port is the probe's (--port), the address the destination.
        let bracketed = text.hasPrefix("[") ? text.dropFirst().split(separator: "]").first.map(String.init) : nil
        if let address = IPAddress.parse(bracketed ?? text) {
            return [try destination(address: address, text: text, from: source, family: family)]
        }
        return try podDestinations(text, from: source, family: family)
    }

    /// "10.244.2.2,fd00:10:244:2::2": a pod of another node by its podIPs, one per family; nil
    /// when the text is not two addresses. Two of one family are the caller's mistake.
    static func podIPs(_ text: String) throws -> [IPAddress]? {
        let listed = text.split(separator: ",").map(String.init).compactMap(IPAddress.parse)
        guard listed.count == 2, text.split(separator: ",").count == 2 else { return nil }
        guard listed[0].family != listed[1].family else {
            throw SessionError("\(text): two addresses of one family (give a pod's IPv4 and IPv6 address)")
        }
        return listed
    }

    /// An IP destination, in its own family.
    func destination(
        address: IPAddress, text: String, from source: Pod, family: IPFamily?
    ) throws -> (name: String, address: IPAddress, pod: Pod?) {
        if let family, family != address.family {
            throw SessionError("\(text) is an \(address.family) address; --family \(family.rawValue) asks for \(family)")
        }
        guard source.primaryAddress(address.family) != nil else {
            throw SessionError(
                "\(source.fullName) has no \(address.family) address to probe \(text) from (it has \(source.addresses.map(\.description).joined(separator: ", ")))"
            )
        }
        let pod = pods.pod(holding: address)
        return (pod.map { "\($0.fullName) (\(address))" } ?? text, address, pod)
    }

    /// A pod of this node by name, in every family both pods have (or `family`).
    func podDestinations(_ text: String, from source: Pod, family: IPFamily?) throws -> [(name: String, address: IPAddress, pod: Pod?)] {
        let found: Result<Pod, PodLookupError> = Result { () throws(PodLookupError) -> Pod in try pods.find(text) }
        if case .failure(let error) = found, error.kind == .unknown {
            // Without the API server a pod of another node has no name here, only its IPs.
            throw PodLookupError(
                kind: .unknown, message: error.message + "; for a pod on another node, give its IP (or both of its podIPs)")
        }
        let pod = try found.get()
        let shared = source.families.filter { pod.families.contains($0) && (family == nil || family == $0) }
        guard !shared.isEmpty else {
            let wanted = family.map { "an \($0) address" } ?? "an address family"
            throw SessionError(
                "\(source.fullName) (\(source.families.map(\.description).joined(separator: ", "))) and \(pod.fullName) (\(pod.families.map(\.description).joined(separator: ", "))) do not share \(wanted)"
            )
        }
        return shared.compactMap { family in pod.primaryAddress(family).map { ("\(pod.fullName) (\($0))", $0, pod) } }
    }

    /// `node`, or a pod of this node: the label reports give it and its namespace, opened once.
    public func target(_ name: String) throws -> (label: String, handle: NamespaceHandle, pod: Pod?) {
        if name == KnownNamespace.nodeName { return (name, try node.handle(directory.node), nil) }
        let pod = try pods.find(name)
        return (pod.fullName, try node.handle(try node.namespace(of: pod)), pod)
    }

    // MARK: the operations

    /// inspect node, or inspect a pod.
    public func inspect(_ target: String) throws -> any Report {
        if target == KnownNamespace.nodeName { return try Inspector.inspectNode(kernel) }
        let pod = try pods.find(target)
        var report = try Inspector.inspectPod(pod, node: kernel)
        if let cilium = CiliumDatapath.find(root: root) { Self.addCiliumEndpoint(cilium, pod: pod, to: &report) }
        return PodSourcedReport(report, pods: [pod], directory: pods)
    }

    /// On a Cilium node: the pod's endpoint as cilium_lxc has it, judged against its host veth.
    static func addCiliumEndpoint(_ cilium: CiliumDatapath, pod: Pod, to report: inout InspectReport) {
        switch cilium.endpoints() {
        case .success(let endpoints):
            report.ciliumEndpoint = endpoints.first { pod.addresses.contains($0.address) && !$0.isHost }
            let veth = report.hostSide?.interface
            report.findings += CiliumEndpointChecks.check(
                pod: pod.fullName, addresses: pod.addresses, hostVeth: veth.map { ($0.index, $0.name) }, programs: veth?.programs ?? [],
                endpoints: endpoints, policySlot: cilium.policySlots(of: report.ciliumEndpoint),
                ipcache: cilium.identities(of: pod.addresses))
        case .failure(let error):
            report.findings.append(
                CollectionFailed.finding(
                    ["Cilium's endpoints (cilium_lxc) could not be read: \(error)"], place: "cilium_lxc", scope: "this pod",
                    again: "inspect"))
        }
    }

    /// trace SRC DST: to a pod or an IP, or through a Service (a name no pod has, or an address
    /// kube-proxy's rules translate). `proto` nil: ICMP, TCP with a port; a Service's own protocol.
    public func trace(
        from source: String, to destination: String, timeoutMilliseconds: Int32, proto: TraceProtocol?,
        port: UInt16?, traceRules: Bool = false, dropReasons: Bool = false, family: IPFamily? = nil
    ) throws -> any Report {
        // A name with dots: a DNS name, unless a pod of this node has it (pod names may have dots).
        if let (host, namedPort) = Self.dnsDestination(destination), (try? pods.find(destination)) == nil {
            return try traceName(
                from: source, host: host, port: namedPort ?? port, timeoutMilliseconds: timeoutMilliseconds, proto: proto,
                family: family)
        }
        let sourcePod = try pod(source)
        var tracer = Tracer(
            node: node, timeoutMilliseconds: timeoutMilliseconds, proto: proto ?? (port == nil ? .icmp : .tcp), port: port,
            agents: agents
        ) { [self] in mtuRemedy }
        tracer.traceRules = traceRules
        tracer.dropReasons = dropReasons
        tracer.cilium = CiliumDatapath.find(root: root)
        tracer.calico = CalicoCounters.find(root: root)
        if tracer.cilium != nil, let socket = try? root.resolve(HubbleClient.socketPath), NodeRoot("/").status(socket) != nil {
            tracer.hubbleSocket = socket
        }
        switch try serviceDestination(destination, port: port, proto: proto) {
        case .notProgrammed(let query, let reading):
            return PodSourcedReport(
                UnprogrammedServiceReport(source: sourcePod, query: query, reading: reading), pods: [sourcePod], directory: pods)
        case .service(let service):
            let traced = ServiceTracer(tracer: tracer).trace(
                source: sourcePod, sourceAddress: try address(of: sourcePod, family: service.address.family),
                sourceNamespace: try node.handle(try node.namespace(of: sourcePod)).opened,
                entry: service.entry, mode: service.mode, frontend: service.frontend, address: service.address,
                places: places(of: service.entry.endpoints.map(\.address)), pods: { [self] in endpointPod(holding: $0) },
                node: node.nodeSockets,
                masqueradeMissing: service.masqueradeMissing, proxyStatus: service.proxyStatus, now: Double(time(nil)))
            return PodSourcedReport(traced, pods: [sourcePod], directory: pods)
        case nil:
            break
        }
        // One trace per family, each judged on its own: a dual-stack path can be healthy in one
        // family and broken in the other.
        var traces: [TraceReport] = []
        var named: [Pod] = [sourcePod]
        for (name, address, destinationPod) in try destinations(destination, from: sourcePod, family: family) {
            traces.append(
                try tracer.trace(
                    TraceEnds(
                        source: sourcePod, sourceAddress: try self.address(of: sourcePod, family: address.family),
                        destinationName: name, destinationAddress: address, destinationPod: destinationPod)))
            if let destinationPod, !named.contains(where: { $0.containerID == destinationPod.containerID }) { named.append(destinationPod) }
        }
        if traces.count == 1 { return PodSourcedReport(traces[0], pods: named, directory: pods) }
        return PodSourcedReport(FamilyTracesReport(traces: traces), pods: named, directory: pods)
    }
}

/// A request the session cannot carry out as asked (the caller's mistake, not the node's).
public struct SessionError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

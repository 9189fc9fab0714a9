import BPF
import Capture
import Checks
import Cilium
import Diagnosis
import Firewall
import KernelState
import NetAddress
import Netlink
import NetSystem
import PathFacts
import Pods
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

public struct RemoteHalfError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One remote half being watched for a caller's probe, on the node its agent runs on: the half's
/// facts gathered (PathGatherer.remote: from the device the request arrives on to the destination
/// pod, and its replies' way back), captures at its hops and firewall counters read before, until
/// `finish` (or the agent's deadline) ends it. Judged by the same checks as the local half.
public final class RemoteHalfSession: @unchecked Sendable {
    public let node: String
    private let access: LiveNode
    private var facts: PathFacts
    private var firewallFindings: [Finding] = []
    private var capture: HopCapture
    /// What the captures saw at each hop, once the session is finished.
    private var seen: [HopSeen] = []
    private let firewallNamespaces: [NetlinkSockets]
    private let firewallBefore: [[FirewallRule]?]
    private let ended = Mutex(false)
    /// --drop-reasons: the tracer attached for the probe, or why it could not be.
    private let dropTracer: Result<DropReasonTracer, BPFError>?
    private var kernelDrops: KernelDropObservation?
    /// Cilium's drop counters on this node, read before the probe (nil: no Cilium here).
    private let cilium: CiliumDatapath?
    private let ciliumBefore: Result<CiliumMetrics, BPFError>?
    private var ciliumFindings: [Finding] = []

    /// The static view only: no capture, no counters (mtu-probe's question).
    public static func path(_ request: RemoteTraceRequest, nodeName: String, node: LiveNode, pods: [Pod]) throws -> RemoteHalfView {
        let facts = try gather(request, nodeName: nodeName, node: node, pods: pods)
        return RemoteHalfView(
            node: nodeName, hops: facts.hops.map { ObservedHop($0) }, findings: PathChecks.run(facts), problems: [],
            hasDestination: facts.destination != nil)
    }

    /// `cilium`: this node's Cilium maps, when it runs Cilium: its drop counters are read around
    /// the probe and judged here, where they are.
    public init(_ request: RemoteTraceRequest, nodeName: String, node: LiveNode, pods: [Pod], cilium: CiliumDatapath? = nil) throws {
        self.node = nodeName
        self.cilium = cilium
        access = node
        facts = try Self.gather(request, nodeName: nodeName, node: node, pods: pods)
        capture = HopCapture(
            hops: facts.hops, filter: request.expectedSignature.captureFilter,
            namespaces: { try node.handle($0).opened }, label: nodeName)
        firewallNamespaces = try facts.namespaces.map { try node.handle($0.known).sockets }
        let firewallRead = FirewallReader.readAll(in: firewallNamespaces, family: request.destinationAddress.family)
        firewallFindings = FirewallDrop.unreadable(firewallRead, labels: facts.namespaces.map(\.label))
        firewallBefore = firewallRead
        ciliumBefore = cilium?.metrics()
        // Any source: the request may arrive masqueraded by the sender's CNI; `finish` keeps the
        // sources the captures saw arrive.
        dropTracer =
            request.dropReasons
            ? Result { () throws(BPFError) in
                try DropReasonTracer.start(flows: [
                    KernelDropWatch.flow(
                        source: nil, destination: request.destinationAddress, proto: request.proto,
                        port: request.proto == .icmp ? nil : request.port)
                ])
            } : nil
    }

    static func gather(_ request: RemoteTraceRequest, nodeName: String, node: LiveNode, pods: [Pod]) throws -> PathFacts {
        do {
            return try PathGatherer(access: node).remote(
                nodeName: nodeName, sourceAddress: request.sourceAddress, destination: request.destinationAddress,
                nodeAddress: request.nodeAddress, encapsulated: request.encapsulated, pods: pods)
        } catch let error as PathGatheringError {
            throw RemoteHalfError(error.description)
        }
    }

    /// The half as the caller sees it: hops, what each saw, and the findings there.
    public var view: RemoteHalfView {
        var view = RemoteHalfView(
            node: node, hops: ObservedHop.pairing(facts.hops, seen), findings: PathChecks.run(facts) + firewallFindings + ciliumFindings,
            problems: capture.problems,
            hasDestination: facts.destination != nil)
        switch kernelDrops {
        case .observed(let drops, _): view.kernelDrops = drops
        case .unavailable(let why):
            view.findings.append(KernelDrops.unavailable(why).about(node))
        case nil: break
        }
        return view
    }

    /// Stops the captures, reads the counters again, and marks what each hop saw of the probe.
    public func finish(signature: ProbeSignature) throws -> RemoteHalfView {
        guard claim() else { throw RemoteHalfError("the session already ended") }
        usleep(5_000)
        let (seen, sources) = capture.finish(facts.hops, signature: signature)
        self.seen = seen
        if let dropTracer {
            kernelDrops = Self.drops(dropTracer, arrivedFrom: Set(sources + [signature.source]), facts: facts, node: access)
        }
        // A reply seen crossing this node contradicts a prediction that its half is cut.
        facts.probeAnswered = seen.contains { $0.reply == true }
        // Replies go to the source the request arrived with: a CNI that masquerades pod traffic
        // leaving its node (ipMasq) makes that the sending node's address.
        if let arrived = sources.first, arrived != signature.source { PathGatherer(access: access).askReplies(to: arrived, facts: &facts) }
        if let cilium, let ciliumBefore { judgeCilium(cilium, before: ciliumBefore, signature: signature) }
        let firewallAfter = FirewallReader.readAgain(firewallBefore, in: firewallNamespaces, family: signature.destination.family)
        for (i, namespace) in facts.namespaces.enumerated() {
            firewallFindings += FirewallDrop.findings(
                before: firewallBefore[i] ?? [], after: firewallAfter[i], in: namespace.label,
                probe: policyProbe(signature))
        }
        return view
    }

    /// What Cilium's datapath on this node dropped while the probe was out, in its words, with the
    /// probe replayed through this node's policy maps.
    private func judgeCilium(_ cilium: CiliumDatapath, before: Result<CiliumMetrics, BPFError>, signature: ProbeSignature) {
        var observation = Tracer.observe(cilium, before: before, after: cilium.metrics())
        let ends = [signature.source, signature.destination]
        if !observation.drops.isEmpty {
            observation.identities =
                Tracer.identities(cilium, of: ends)
                + CiliumPolicyWatch.replays(
                    cilium, source: signature.source, destination: signature.destination, proto: signature.proto, port: signature.port)
        }
        let place = facts.hops.last { $0.role == .destinationHostSide }?.name
        CiliumDrops.judge(observation, reachable: facts.probeAnswered ?? false, at: (place, place), findings: &ciliumFindings)
    }

    /// What a policy verdict says was sent: the probe as it arrived here (its source the
    /// caller's pod; this node knows only its own pods' names).
    func policyProbe(_ signature: ProbeSignature) -> PolicyProbe {
        PolicyProbe(
            what: PolicyProbe.describe(signature.proto.rawValue, port: signature.port), isICMP: signature.proto == .icmp,
            source: signature.source.description, pods: PolicyProbe.pods(of: facts, source: nil), destinationPod: facts.destination?.podName
        )
    }

    /// What this node's kernel dropped of the probe, placed on this half: only packets from or to
    /// a source the captures saw arrive (the caller's pod, or its node when it masquerades).
    static func drops(
        _ started: Result<DropReasonTracer, BPFError>, arrivedFrom sources: Set<IPAddress>, facts: PathFacts, node: LiveNode
    ) -> KernelDropObservation {
        switch started {
        case .failure(let error): return .unavailable(error.description)
        case .success(let tracer):
            var result = tracer.finish()
            result.drops = result.drops.filter { sources.contains($0.source) || sources.contains($0.destination) }
            return KernelDropWatch.place(result, facts: facts, node: node)
        }
    }

    /// Ends a session nobody finished (its caller went away): captures closed, the drop-reason
    /// program removed.
    public func abandon() {
        guard claim() else { return }
        capture.abandon()
        if case .success(let tracer) = dropTracer { _ = tracer.finish() }
    }

    /// True for the one caller that ends the session.
    private func claim() -> Bool {
        ended.withLock { ended in
            defer { ended = true }
            return !ended
        }
    }
}

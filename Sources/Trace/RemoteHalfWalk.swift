import Capture
import Diagnosis
import Firewall
import KernelState
import NetAddress
import NetlinkCodec
import NetSystem
import Pods
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

public struct RemoteHalfError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The remote node's half of a cross-node path, as that node's agent walks it: from the device
/// the request arrives on (the underlay holding the address it was sent to, then the overlay
/// device that decapsulates it) through the node's forwarding decision to the destination pod,
/// and the way its replies go back. The same checks as the local half.
struct RemoteHalfWalk {
    var hops: [TraceHop]
    var findings: [Finding]
    /// The namespaces read (node first), with the label their findings carry.
    var snapshots: [(snapshot: NamespaceSnapshot, label: String)]
    var hasDestination: Bool
    var replies: ReplyRoutes?
    var replyFindings: [Finding]

    static func walk(_ request: RemoteTraceRequest, nodeName: String, directory: NamespaceDirectory, pods: PodDirectory) throws -> RemoteHalfWalk {
        let node = try NamespaceSnapshot.read(directory.node, label: nodeName, directory: directory)
        // Checks name the node by its own name, not "node": the caller sees two nodes.
        var named = node
        named.known.name = nodeName
        var hops: [TraceHop] = []
        var findings: [Finding] = []
        var snapshots = [(node, nodeName)]
        func hop(_ link: Link, _ role: TraceHop.Role, in snapshot: NamespaceSnapshot, label: String) -> TraceHop {
            var hop = TraceHop(name: "\(label):\(link.name)", namespace: snapshot.known, interface: link.name, role: role, link: link)
            hop.node = nodeName
            return hop
        }

        // Where the request arrives: the device holding the address it was sent to.
        guard let held = node.state.addresses.first(where: { $0.address == request.nodeAddress }),
              let underlay = node.state.link(index: held.interfaceIndex) else {
            throw RemoteHalfError("\(request.nodeAddress) is not an address of \(nodeName): the packet is sent to another node")
        }
        hops.append(hop(underlay, .underlay, in: node, label: nodeName))
        var arrival = underlay
        if request.encapsulated {
            let overlays = node.state.links.filter { $0.kind == "vxlan" || $0.kind == "geneve" }
            // Geneve devices name no underlay: the first overlay device then.
            let onUnderlay = overlays.first { $0.vxlan?.underlayIndex == UInt32(underlay.index) }
            if let overlay = onUnderlay ?? overlays.first {
                hops.append(hop(overlay, .overlay, in: node, label: nodeName))
                arrival = overlay
            } else {
                findings.append(Finding(.noRoute, .error, "\(nodeName) has no overlay device: encapsulated packets arriving on \(underlay.name) are never unwrapped.",
                                        hop: "\(nodeName):\(underlay.name)", evidence: ["no vxlan or geneve link in \(nodeName)'s namespace"],
                                        remedy: "Start the overlay agent (flanneld) on \(nodeName), or check that both nodes use the same backend."))
            }
        }
        findings += NodeChecks.forwarding(named)
        let forwarding = node.state.ipForwarding != false
        let destination = request.destinationAddress, source = request.sourceAddress

        // The node's forwarding decision for the request as it arrives.
        let forward = node.lookup(destination, source: source, input: arrival.index)
        if forward == nil, forwarding {
            findings.append(Finding(.noRoute, .error, "\(nodeName) has no route to \(destination) for traffic arriving on \(arrival.name).",
                                    hop: "\(nodeName):\(arrival.name)",
                                    evidence: ["route lookup for \(destination) from \(source) in via \(arrival.name) on \(nodeName): none"],
                                    remedy: "Restore the route to the pod (the CNI's bridge subnet route or per-pod route) on \(nodeName)."))
        }
        if let out = forward?.outputIndex.flatMap({ node.state.link(index: $0) }), out.kind == "bridge" {
            hops.append(hop(out, .bridge, in: node, label: nodeName))
        }

        // The destination pod, its host side, and the way back.
        var hasDestination = false
        var replies: ReplyRoutes? = nil
        if let pod = pods.pods.first(where: { $0.addresses.contains(destination) }) {
            let podKnown = try PodDirectory.namespace(of: pod, directory: directory)
            let podSnapshot = try NamespaceSnapshot.read(podKnown, label: pod.name, directory: directory)
            snapshots.append((podSnapshot, pod.name))
            hasDestination = true
            let eth0 = podSnapshot.state.links.first { $0.name == pod.primaryInterface }
            let hostSide = eth0?.linkIndex.flatMap { node.state.link(index: $0) }
            if let hostSide {
                hops.append(hop(hostSide, .destinationHostSide, in: node, label: nodeName))
                findings += NodeChecks.bridgePort(hostSide, node: named)
            }
            if let eth0 {
                hops.append(hop(eth0, .destination, in: podSnapshot, label: pod.name))
                replies = ReplyRoutes(node: node, nodeName: nodeName, forwarding: forwarding, hostSide: hostSide, pod: podSnapshot,
                                      podName: pod.name, eth0: eth0, destination: destination)
            }
        }
        findings += NodeChecks.links(hops)
        return RemoteHalfWalk(hops: hops, findings: findings, snapshots: snapshots, hasDestination: hasDestination, replies: replies,
                              replyFindings: replies?.check(to: source) ?? [])
    }

    /// The source replies go to is the one the request arrived with: a CNI that masquerades
    /// pod traffic leaving its node (ipMasq) makes that the sending node's address.
    mutating func repliesGo(to seenSource: IPAddress) {
        if let replies { replyFindings = replies.check(to: seenSource) }
    }

    func view(node: String, problems: [String] = []) -> RemoteHalfView {
        RemoteHalfView(node: node, hops: hops, findings: findings + replyFindings, problems: problems, hasDestination: hasDestination)
    }
}

/// The way a destination pod's replies go back: the pod's own route, then the node's for
/// packets arriving from the pod's veth.
struct ReplyRoutes {
    var node: NamespaceSnapshot
    var nodeName: String
    var forwarding: Bool
    var hostSide: Link?
    var pod: NamespaceSnapshot
    var podName: String
    var eth0: Link
    var destination: IPAddress

    func check(to source: IPAddress) -> [Finding] {
        var findings: [Finding] = []
        if pod.lookup(source) == nil {
            findings.append(Finding(.noRoute, .error, "\(podName) on \(nodeName) has no route back to \(source): replies cannot leave.",
                                    hop: "\(podName):\(eth0.name)", evidence: ["route lookup for \(source) in \(pod.known.name) on \(nodeName): none"],
                                    remedy: "Restore the pod's default route via its gateway."))
        } else if forwarding, let hostSide, node.lookup(source, source: destination, input: hostSide.index) == nil {
            findings.append(Finding(.noRoute, .error, "Replies from \(podName) arriving on \(hostSide.name) have no route back to \(source) on \(nodeName).",
                                    hop: "\(nodeName):\(hostSide.name)",
                                    evidence: ["route lookup for \(source) from \(destination) in via \(hostSide.name) on \(nodeName): none"],
                                    remedy: "Restore \(nodeName)'s route to the source's pod subnet (the overlay's or the node route the CNI installs)."))
        }
        return findings
    }
}

/// One remote half being watched for a caller's probe: captures at its hops and firewall
/// counters read before, until `finish` (or the agent's deadline) ends it.
public final class RemoteHalfSession: @unchecked Sendable {
    public let node: String
    /// The static view, sent back when the session starts.
    public var view: RemoteHalfView { walk.view(node: node, problems: capture.problems) }
    private var walk: RemoteHalfWalk
    private var capture: HopCapture
    private let firewallNamespaces: [NetNamespace?]
    private let firewallBefore: [[FirewallRule]]
    private let ended = Mutex(false)

    /// The static view only: no capture, no counters (mtu-probe's question).
    public static func path(_ request: RemoteTraceRequest, nodeName: String, directory: NamespaceDirectory, pods: PodDirectory) throws -> RemoteHalfView {
        try RemoteHalfWalk.walk(request, nodeName: nodeName, directory: directory, pods: pods).view(node: nodeName)
    }

    public init(_ request: RemoteTraceRequest, nodeName: String, directory: NamespaceDirectory, pods: PodDirectory) throws {
        node = nodeName
        walk = try RemoteHalfWalk.walk(request, nodeName: nodeName, directory: directory, pods: pods)
        capture = HopCapture(hops: walk.hops, filter: request.expectedSignature.captureFilter, directory: directory, label: nodeName)
        firewallNamespaces = walk.snapshots.map { $0.snapshot.known.name == "node" ? nil : $0.snapshot.opened }
        let firewallRead = FirewallReader.readAll(in: firewallNamespaces)
        walk.findings += FirewallDelta.unreadable(firewallRead, labels: walk.snapshots.map(\.label))
        firewallBefore = firewallRead.map { $0 ?? [] }
    }

    /// Stops the captures, reads the counters again, and marks what each hop saw of the probe.
    public func finish(signature: ProbeSignature) throws -> RemoteHalfView {
        guard claim() else { throw RemoteHalfError("the session already ended") }
        usleep(5_000)
        let sources = capture.finish(&walk.hops, signature: signature)
        if let arrived = sources.first, arrived != signature.source { walk.repliesGo(to: arrived) }
        let firewallAfter = FirewallReader.readAll(in: firewallNamespaces).map { $0 ?? [] }
        for (i, namespace) in walk.snapshots.enumerated() {
            walk.findings += FirewallDelta.findings(before: firewallBefore[i], after: firewallAfter[i], in: namespace.label)
        }
        return view
    }

    /// Ends a session nobody finished (its caller went away): captures closed.
    public func abandon() {
        guard claim() else { return }
        capture.abandon()
    }

    /// True for the one caller that ends the session.
    private func claim() -> Bool {
        ended.withLock { ended in
            defer { ended = true }
            return !ended
        }
    }
}

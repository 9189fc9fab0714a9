import KernelState
import NetAddress
import NetlinkCodec
import Pods

/// Why a path could not be gathered at all (its start is not where the request says).
public struct PathGatheringError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Gathers a path's facts by asking the kernel as a packet would travel: each namespace opened
/// and read once through `access`, each lookup recorded with its answer. It judges nothing: the
/// checks do, on what it returns. The one walker for trace, mtu-probe and the agent's half.
public struct PathGatherer {
    public let access: any NodeAccess
    /// A BPF datapath on the pods' host veths that tunnels what a pod sends itself, before the
    /// node routes it (Cilium's cil_from_container sends it into cilium_vxlan towards the node
    /// its ipcache names): given the host veth (and the node's namespace it is in) and the
    /// destination, the tunnel endpoint and what said so; nil where the node's routing decides.
    public typealias DatapathTunnel = @Sendable (Link, KnownNamespace, IPAddress) -> (endpoint: IPAddress, source: String)?
    public var datapathTunnel: DatapathTunnel?

    public init(access: any NodeAccess, datapathTunnel: DatapathTunnel? = nil) {
        self.access = access
        self.datapathTunnel = datapathTunnel
    }

    /// Device kinds that encapsulate: the request leaves inside another packet.

    /// This node's half: from `start` (a pod's namespace, or the node's) towards `destination`,
    /// through the veth's host side and the node's forwarding decision, to a destination pod of
    /// this node or to where the request leaves the node.
    public func local(
        from start: KnownNamespace, label: String, sourceAddress: IPAddress?, to destination: IPAddress,
        destinationName: String, destinationPod: Pod?
    ) throws -> PathFacts {
        let source = try access.open(start)
        let sourceState = try source.state()
        var facts = PathFacts(
            sourceAddress: sourceAddress ?? destination, destinationAddress: destination, destinationName: destinationName)
        let s = facts.add(start, label: label, state: sourceState)
        let answer = ask(.sourceRoute, RouteQuery(destination: destination), in: source, label: label, facts: &facts)
        _ = ask(.configured, RouteQuery(destination: destination, fibMatch: true), in: source, label: label, facts: &facts)
        guard let route = answer.route else {
            facts.source = .init(namespace: s)
            return facts
        }
        if sourceAddress == nil, let preferred = route.preferredSource { facts.sourceAddress = preferred }
        let interface = route.outputIndex.flatMap { sourceState.link(index: $0) }
        facts.source = .init(namespace: s, route: route, interface: interface)
        guard let interface else { return facts }
        facts.hops.append(hop(interface, .source, in: start, label: label))

        // A veth into another namespace: the node from its host side on.
        guard interface.kind == "veth", let peerIndex = interface.linkIndex, let nsid = interface.linkNetnsID, nsid >= 0 else {
            return facts
        }
        guard let hostKnown = source.peer(nsid: nsid) else {
            facts.collectionErrors.append(
                .init(place: label, what: "the namespace \(interface.name)'s peer is in (nsid \(nsid)) is none netdoctor can open"))
            return facts
        }
        let node: any NamespaceAccess, nodeState: NamespaceState
        do {
            node = try access.open(hostKnown)
            nodeState = try node.state()
        } catch {
            facts.collectionErrors.append(.init(place: hostKnown.name, what: "not read: \(error)"))
            return facts
        }
        let n = facts.add(hostKnown, label: hostKnown.name, state: nodeState)
        guard let hostVeth = nodeState.link(index: peerIndex) else {
            facts.collectionErrors.append(
                .init(place: hostKnown.name, what: "\(interface.name)'s peer (index \(peerIndex)) is not among its links"))
            return facts
        }
        facts.node = .init(namespace: n, arrival: hostVeth, hostVeth: hostVeth)
        facts.hops.append(hop(hostVeth, .hostSide, in: hostKnown, label: hostKnown.name))
        if let master = hostVeth.masterIndex, let bridge = nodeState.link(index: master) {
            facts.hops.append(hop(bridge, .bridge, in: hostKnown, label: hostKnown.name))
        }
        if destinationPod == nil, let tunnel = datapathTunnel?(hostVeth, hostKnown, destination),
            tunnelled(to: tunnel.endpoint, by: tunnel.source, in: node, facts: &facts)
        {
            return facts
        }
        forward(from: hostVeth, source: facts.sourceAddress, in: node, facts: &facts, leavesNode: destinationPod == nil)
        if let destinationPod { try self.destinationPod(destinationPod, node: node, facts: &facts) }
        return facts
    }

    /// The node's forwarding decision for the request entering on `arrival`, and where it leaves:
    /// the bridge towards a local pod, an overlay device and its underlay, or the uplink.
    func forward(from arrival: Link, source: IPAddress, in node: any NamespaceAccess, facts: inout PathFacts, leavesNode: Bool) {
        guard var step = facts.node, let state = facts.nodeNamespace?.state else { return }
        let label = facts.nodeLabel, destination = facts.destinationAddress
        let query = RouteQuery(destination: destination, source: source, inputIndex: arrival.index)
        let answer = ask(.forward, query, in: node, label: label, facts: &facts, inputName: arrival.name)
        _ = ask(
            .configured, RouteQuery(destination: destination, source: source, inputIndex: arrival.index, fibMatch: true),
            in: node, label: label, facts: &facts, inputName: arrival.name)
        defer { facts.node = step }
        guard let route = answer.route, let out = route.outputIndex.flatMap({ state.link(index: $0) }) else { return }
        step.forward = route
        step.output = out
        let intoBridge = out.index == arrival.masterIndex
        guard !intoBridge || leavesNode else { return }
        let role: TraceHop.Role =
            out.isOverlay
            ? .overlay
            : leavesNode ? .underlay : (out.kind == "bridge" ? .bridge : .output)
        if !intoBridge { facts.hops.append(hop(out, role, in: facts.nodeNamespace!.known, label: label)) }
        // Replies come back in on the same device: the node must route them to the source.
        if leavesNode {
            _ = ask(
                .repliesIn, RouteQuery(destination: source, source: destination, inputIndex: out.index), in: node, label: label,
                facts: &facts, inputName: out.name)
        }
        if role == .overlay {
            step.overlay = out
            step.underlay =
                out.vxlan?.underlayIndex.flatMap { state.link(index: Int32($0)) }
                ?? out.tunnel?.underlayIndex.flatMap { $0 > 0 ? state.link(index: Int32($0)) : nil }
            step.remoteAddress = route.gateway.flatMap { state.overlayDestination(of: $0, on: out)?.remote }
            if let underlay = step.underlay { facts.hops.append(hop(underlay, .underlay, in: facts.nodeNamespace!.known, label: label)) }
        } else if role == .underlay, let gateway = route.gateway {
            step.gateway = gateway
            step.remoteAddress = gateway
            // A static entry is never checked by the kernel again: ask who holds the address now.
            if state.neighbor(gateway, on: out.index)?.state.contains(.permanent) == true {
                facts.gatewayClaims = access.addressClaims(of: gateway, on: out, in: node)
            }
        }
    }

    /// The request sent into the node's collect-metadata tunnel device (Cilium's cilium_vxlan or
    /// cilium_geneve: fixed names) towards `endpoint` by a BPF datapath, and the underlay the
    /// node routes the tunnel's packets by; false when the node has no such device.
    func tunnelled(to endpoint: IPAddress, by source: String, in node: any NamespaceAccess, facts: inout PathFacts) -> Bool {
        guard var step = facts.node, let state = facts.nodeNamespace?.state,
            let device = state.links.first(where: { $0.isLinkLayerOverlay && $0.name.hasPrefix("cilium_") })
        else { return false }
        let label = facts.nodeLabel, known = facts.nodeNamespace!.known
        let answer = ask(.tunnelUnderlay, RouteQuery(destination: endpoint), in: node, label: label, facts: &facts)
        step.output = device
        step.overlay = device
        step.remoteAddress = endpoint
        step.tunnelledBy = source
        step.underlay = answer.route?.outputIndex.flatMap { state.link(index: $0) }
        step.gateway = answer.route?.gateway
        facts.hops.append(hop(device, .overlay, in: known, label: label))
        if let underlay = step.underlay { facts.hops.append(hop(underlay, .underlay, in: known, label: label)) }
        // Replies come back out of the tunnel device: the node must route them to the source.
        _ = ask(
            .repliesIn, RouteQuery(destination: facts.sourceAddress, source: facts.destinationAddress, inputIndex: device.index), in: node,
            label: label, facts: &facts, inputName: device.name)
        facts.node = step
        return true
    }

    /// A destination pod of this node: its interface, its host side, who answers for its
    /// address on the bridge, and its route back.
    func destinationPod(_ pod: Pod, node: any NamespaceAccess, facts: inout PathFacts) throws {
        guard let nodeState = facts.nodeNamespace?.state else { return }
        // A destination pod whose namespace is gone is an error of its own, not a lost packet.
        let known = try access.namespace(of: pod)
        let namespace = try access.open(known)
        let state = try namespace.state()
        let d = facts.add(known, label: pod.label, state: state)
        _ = ask(.podReplies, RouteQuery(destination: facts.sourceAddress), in: namespace, label: pod.label, facts: &facts)
        let interface = state.link(named: pod.primaryInterface)
        let hostSide = interface?.linkIndex.flatMap { nodeState.link(index: $0) }
        facts.destination = .init(namespace: d, podName: pod.label, interface: interface, hostSide: hostSide)
        let nodeKnown = facts.nodeNamespace!.known
        if let hostSide {
            // Routed to the pod's own veth (ptp, calico): the output hop is its host side.
            if let last = facts.hops.last, last.role == .output, last.link?.index == hostSide.index,
                last.namespace?.identity == nodeKnown.identity
            {
                facts.hops.removeLast()
            }
            facts.hops.append(hop(hostSide, .destinationHostSide, in: nodeKnown, label: facts.nodeLabel))
            if facts.destinationAddress.isIPv4, let master = hostSide.masterIndex, let bridge = nodeState.link(index: master) {
                facts.addressClaims = access.addressClaims(of: facts.destinationAddress, on: bridge, in: node)
            }
        }
        if let interface { facts.hops.append(hop(interface, .destination, in: known, label: pod.label)) }
    }

    /// The remote node's half, as its agent gathers it: from the device the request arrives on
    /// (the underlay holding `nodeAddress`, then the overlay device that unwraps it) through the
    /// node's forwarding decision to the destination pod, and its replies' way back.
    public func remote(
        nodeName: String, sourceAddress: IPAddress, destination: IPAddress, nodeAddress: IPAddress, encapsulated: Bool,
        pods: [Pod]
    ) throws -> PathFacts {
        let node = try access.open(access.node)
        let state = try node.state()
        var facts = PathFacts(
            sourceAddress: sourceAddress, destinationAddress: destination, destinationName: destination.description,
            nodeName: nodeName)
        let n = facts.add(access.node, label: nodeName, state: state)
        guard let held = state.addresses.first(where: { $0.address == nodeAddress }), let underlay = state.link(index: held.interfaceIndex)
        else {
            throw PathGatheringError("\(nodeAddress) is not an address of \(nodeName): the packet is sent to another node")
        }
        facts.hops.append(hop(underlay, .underlay, in: access.node, label: nodeName))
        var step = PathFacts.NodeStep(namespace: n, arrival: underlay)
        if encapsulated {
            let overlays = state.links.filter(\.isLinkLayerOverlay)
            // The device whose tunnel ends at the node address the packet came to (a dual-stack
            // flannel has flannel.1 over IPv4 and flannel-v6.1 over IPv6 on one underlay), else
            // one on that underlay in that family; Geneve devices name no underlay: the first then.
            let onUnderlay = overlays.filter { $0.vxlan?.underlayIndex == UInt32(underlay.index) }
            if let overlay = overlays.first(where: { $0.vxlan?.local == nodeAddress })
                ?? onUnderlay.first(where: { $0.vxlan?.local?.family == nodeAddress.family }) ?? onUnderlay.first ?? overlays.first
            {
                facts.hops.append(hop(overlay, .overlay, in: access.node, label: nodeName))
                step.arrival = overlay
                step.overlay = overlay
            } else {
                step.missingOverlay = true
            }
        }
        facts.node = step
        forward(from: step.arrival, source: sourceAddress, in: node, facts: &facts, leavesNode: false)
        if let pod = pods.first(where: { $0.addresses.contains(destination) }) {
            try destinationPod(pod, node: node, facts: &facts)
            askReplies(to: sourceAddress, facts: &facts)
        }
        // The caller sees two nodes: every hop here says which.
        for i in facts.hops.indices { facts.hops[i].node = nodeName }
        return facts
    }

    /// The way a destination pod's replies go back to `source`: the pod's own route, then the
    /// node's for packets arriving from the pod's veth. Asked again when the request arrived
    /// from another address than it left with (a CNI that masquerades pod traffic).
    public func askReplies(to source: IPAddress, facts: inout PathFacts) {
        guard let step = facts.destination, let pod = facts.destinationNamespace, let nodeFacts = facts.nodeNamespace else { return }
        let podAccess: any NamespaceAccess, node: any NamespaceAccess
        do {
            podAccess = try access.open(pod.known)
            node = try access.open(nodeFacts.known)
        } catch {
            facts.collectionErrors.append(.init(place: pod.label, what: "the replies' way back to \(source) not asked: \(error)"))
            return
        }
        facts.lookups.removeAll { $0.purpose == .podReplies || $0.purpose == .repliesForwarded }
        _ = ask(.podReplies, RouteQuery(destination: source), in: podAccess, label: pod.label, facts: &facts)
        if let hostSide = step.hostSide {
            _ = ask(
                .repliesForwarded, RouteQuery(destination: source, source: facts.destinationAddress, inputIndex: hostSide.index),
                in: node, label: nodeFacts.label, facts: &facts, inputName: hostSide.name)
        }
    }

    /// After a probe that got no answer: the node's neighbour table again, for an underlay
    /// gateway nobody had asked for before (its entry exists only once a packet was sent).
    public func afterProbe(_ facts: inout PathFacts, answered: Bool) {
        guard !answered else { return }
        if facts.source?.route != nil, let source = facts.sourceNamespace {
            do {
                facts.sourceNeighborsAfterProbe = try access.open(source.known).freshNeighbors()
            } catch {
                facts.collectionErrors.append(.init(place: source.label, what: "neighbours not read again after the probe: \(error)"))
            }
        }
        guard facts.node?.gateway != nil, let known = facts.nodeNamespace?.known else { return }
        do {
            facts.neighborsAfterProbe = try access.open(known).freshNeighbors()
        } catch {
            facts.collectionErrors.append(.init(place: facts.nodeLabel, what: "neighbours not read again after the probe: \(error)"))
        }
    }

    func ask(
        _ purpose: LookupFact.Purpose, _ query: RouteQuery, in namespace: any NamespaceAccess, label: String, facts: inout PathFacts,
        inputName: String? = nil
    ) -> RouteAnswer {
        let answer = namespace.lookup(query)
        facts.lookups.append(LookupFact(purpose: purpose, namespace: label, query: query, answer: answer, inputName: inputName))
        return answer
    }

    func hop(_ link: Link, _ role: TraceHop.Role, in namespace: KnownNamespace, label: String) -> TraceHop {
        TraceHop(name: "\(label):\(link.name)", namespace: namespace, interface: link.name, role: role, link: link)
    }
}

extension PathFacts {
    mutating func add(_ known: KnownNamespace, label: String, state: NamespaceState) -> Int {
        if let index = namespaces.firstIndex(where: { $0.known.identity == known.identity }) { return index }
        namespaces.append(NamespaceFacts(known: known, label: label, state: state))
        return namespaces.count - 1
    }
}

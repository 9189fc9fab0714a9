import BPF
import Checks
import KernelState
import NetAddress
import PathFacts

/// trace's view of the BPF layer: the programs on the path's interfaces (always, when the node
/// has any), and with --drop-reasons the kernel's own reason for each of the probe's packets it
/// dropped, placed on the path.
enum KernelDropWatch {
    /// The probe's packets, as the drop-reason program matches them.
    static func flow(_ ends: TraceEnds, proto: TraceProtocol, port: UInt16?) -> ProbeFlow {
        flow(
            source: ends.sourceAddress, destination: ends.destinationAddress, proto: proto,
            port: proto == .icmp ? nil : ProbeSignature.port(for: proto, given: port))
    }

    /// The probe's flows: between its two ends; and for a destination past this node, from any
    /// source to it, since the node may masquerade the request as it leaves (a CNI's ipMasq, after
    /// which a neighbour that never resolves frees it). `ours` keeps only this node's sources.
    static func flows(_ ends: TraceEnds, proto: TraceProtocol, port: UInt16?) -> [ProbeFlow] {
        let exact = flow(ends, proto: proto, port: port)
        guard ends.destinationPod == nil else { return [exact] }
        return [exact, ProbeFlow(a: nil, b: exact.b, protocolNumber: exact.protocolNumber, port: exact.port)]
    }

    /// The drops of the probe itself: to or from its source, or an address of this node's own
    /// namespace (the request masqueraded as it left).
    static func ours(_ result: DropReasonResult, ends: TraceEnds, facts: PathFacts) -> DropReasonResult {
        var sources: Set<IPAddress> = [ends.sourceAddress]
        for namespace in facts.namespaces where namespace.known.isNode {
            sources.formUnion(namespace.state.addresses.compactMap(\.address))
        }
        var result = result
        result.drops = result.drops.filter { sources.contains($0.source) || sources.contains($0.destination) }
        return result
    }

    /// `source` nil: any (a remote half).
    static func flow(source: IPAddress?, destination: IPAddress, proto: TraceProtocol, port: UInt16?) -> ProbeFlow {
        let number: UInt8 =
            switch proto {
            case .icmp: destination.isIPv4 ? 1 : 58
            case .tcp: 6
            case .udp: 17
            }
        return ProbeFlow(a: source, b: destination, protocolNumber: number, port: port)
    }

    /// The programs attached to each local hop's interface, by hop name; empty without any on
    /// the node (one listing of the kernel's programs says so), or without libbpf.
    static func programs(on facts: PathFacts, node: LiveNode) -> (byHop: [String: [AttachedProgram]], problems: [String]) {
        guard case .some = NodePrograms.onInterfacePaths() else { return ([:], []) }
        var byHop: [String: [AttachedProgram]] = [:]
        var problems: [String] = []
        for namespace in facts.namespaces {
            let hops = facts.hops.filter { $0.namespace == namespace.known && $0.node == nil }
            let wanted = Set(hops.compactMap { hop in namespace.state.link(named: hop.interface)?.index })
            guard !wanted.isEmpty, let handle = try? node.handle(namespace.known) else { continue }
            let links = namespace.state.links
            guard let reading = try? handle.run({ AttachedPrograms.read(links: links, socket: handle.socket, only: wanted) }) else {
                continue
            }
            problems += reading.problems.map { "\(namespace.label): \($0)" }
            for hop in hops {
                let attached = reading.programs.filter { $0.interface == hop.interface }
                if !attached.isEmpty { byHop[hop.name] = attached }
            }
        }
        return (byHop, problems)
    }

    /// Each drop placed: its namespace among the path's (by inode), its interface by index there,
    /// the programs attached there, and for IP_RPFILTER the route back to its source.
    static func place(_ result: DropReasonResult, facts: PathFacts, node: LiveNode) -> KernelDropObservation {
        var programsRead: [Int: AttachedPrograms.Reading] = [:]
        let facts = result.drops.map { drop -> KernelDropFact in
            guard let index = facts.namespaces.firstIndex(where: { $0.known.identity.inode == UInt64(drop.namespaceInode) }) else {
                return KernelDropFact(drop: drop, place: "net:[\(drop.namespaceInode)] if \(drop.interfaceIndex)", onPath: false)
            }
            let namespace = facts.namespaces[index]
            let link = namespace.state.link(index: drop.interfaceIndex)
            var fact = KernelDropFact(
                drop: drop, place: "\(namespace.label):\(link?.name ?? "if\(drop.interfaceIndex)")", onPath: true)
            let handle = try? node.handle(namespace.known)
            if ["TC_INGRESS", "TC_EGRESS", "XDP", "TCX_INGRESS", "TCX_EGRESS"].contains(drop.reasonName), let handle, let link {
                if programsRead[index] == nil {
                    let links = namespace.state.links
                    programsRead[index] = try? handle.run { AttachedPrograms.read(links: links, socket: handle.socket) }
                }
                fact.programs = programsRead[index]?.programs.filter { $0.interfaceIndex == link.index } ?? []
            }
            if drop.reasonName == "IP_RPFILTER", let handle {
                fact.reverseRoute = reverseRoute(to: drop.source, from: drop.destination, in: handle, state: namespace.state)
            }
            return fact
        }
        return .observed(facts, lost: result.lost)
    }

    /// Where the namespace routes packets back to `source`, as the reverse-path check looks it up
    /// (fib_validate_source): from `local`, as if arriving on the interface the dropped packet was
    /// to be forwarded to, so policy rules by input interface apply as they did to the check.
    static func reverseRoute(to source: IPAddress, from local: IPAddress, in handle: NamespaceHandle, state: NamespaceState) -> String? {
        let forwardedTo = handle.lookup(RouteQuery(destination: local)).route?.outputIndex
        let asChecked = forwardedTo.flatMap { handle.lookup(RouteQuery(destination: source, source: local, inputIndex: $0)).route }
        guard let route = asChecked ?? handle.lookup(RouteQuery(destination: source)).route else { return nil }
        let device = route.outputIndex.flatMap { state.link(index: $0)?.name } ?? "?"
        return device + (route.gateway.map { " via \($0)" } ?? "")
    }
}

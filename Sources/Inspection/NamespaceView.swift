import BPF
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// One interface as inspect reports it: the kernel's facts with names resolved (master, veth
/// peer and the namespace it lives in).
public struct InterfaceView: Sendable, Equatable {
    public struct Peer: Sendable, Equatable {
        public var namespace: String
        public var interface: String
        public var index: Int32
    }

    public var name: String
    public var index: Int32
    public var kind: String
    public var mtu: Int?
    public var up: Bool
    public var operState: String
    public var mac: String?
    public var addresses: [String]
    /// What duplicate address detection and lifetimes left on an address (tentative, dadfailed,
    /// deprecated, …), by CIDR: only addresses that have such a flag.
    public var addressFlags: [String: [String]] = [:]
    public var master: String?
    public var peer: Peer?
    /// Overlay details: "vni 1 local 192.168.100.1 port 8472 dev eth0".
    public var details: String?
    /// The BPF programs attached to it (tc, tcx, netkit, XDP); read live only.
    public var programs: [AttachedProgram] = []
}

/// A route as inspect reports it.
public struct RouteView: Sendable, Equatable {
    public var destination: String
    public var gateway: String?
    public var interface: String?
    public var table: RouteTable
    public var mtu: Int?
    public var source: String?
    public var type: String
    public var scope: String
    public var family: IPFamily = .ipv4
    /// "ra" for a route a router advertisement installed; nil for the others.
    public var learnedFrom: String? = nil
    /// Seconds until the kernel removes it (RA-learned routes), nil: never.
    public var expiresSeconds: Int? = nil
}

/// A namespace's routes as inspect shows them (the local table left out, as `ip route` leaves
/// it), each made when it is read: views of tens of thousands of routes held at once would be
/// megabytes of text beside the routes themselves.
public struct RouteViews: RandomAccessCollection, Sendable {
    public let state: NamespaceState
    private let positions: [Int]

    public init(state: NamespaceState) {
        self.state = state
        positions = state.routes.indices.filter { state.routes[$0].table != .local }
    }

    public var startIndex: Int { positions.startIndex }
    public var endIndex: Int { positions.endIndex }
    public subscript(position: Int) -> RouteView { RouteView(state.routes[positions[position]], names: state) }
    /// The positions of the routes `matching` picks, judged on the routes themselves (no view made).
    public func positions(where matching: (Route) -> Bool) -> [Int] { indices.filter { matching(state.routes[positions[$0]]) } }
}

extension RouteView {
    /// A route with its interfaces named from its namespace's links.
    init(_ route: Route, names state: NamespaceState) {
        let name = { (index: Int32?) in index.flatMap { state.name(ofIndex: $0) } }
        self.init(
            destination: route.destinationText, gateway: route.gateway.map(\.description),
            interface: name(route.outputIndex) ?? route.nextHops.first.flatMap { name($0.outputIndex) },
            table: route.table, mtu: route.mtu.map(Int.init), source: route.preferredSource.map(\.description),
            type: route.type.description, scope: route.scope.description,
            family: route.family.ipFamily ?? .ipv4, learnedFrom: route.origin == .routerAdvertisement ? "ra" : nil,
            expiresSeconds: route.expiresSeconds)
    }
}

public struct NeighborView: Sendable, Equatable {
    public var address: String
    public var linkAddress: String?
    public var interface: String
    public var state: [String]
}

/// A VXLAN forwarding entry: which MAC is behind which remote VTEP.
public struct ForwardingEntryView: Sendable, Equatable {
    public var mac: String
    public var destination: String?
    public var interface: String
}

/// A namespace's state with indexes turned into names, ready for a report.
public struct NamespaceView: Sendable {
    public var namespace: KnownNamespace
    public var state: NamespaceState
    public var interfaces: [InterfaceView]
    public var routes: RouteViews
    public var neighbors: [NeighborView]
    public var forwardingDatabase: [ForwardingEntryView]

    /// Reads `namespace` through `node` (each namespace opened and dumped once, however many
    /// views name it) and resolves every veth peer.
    public static func read(_ namespace: KnownNamespace, node: any NodeAccess) throws -> NamespaceView {
        let access = try node.open(namespace)
        let state = try access.state()
        let programs = attachedPrograms(access: access, links: state.links)
        let interfaces = state.links.map { link in
            var view = interfaceView(link, state: state, access: access, node: node)
            view.programs = programs[link.index] ?? []
            return view
        }
        let name = { (index: Int32?) in index.flatMap { state.name(ofIndex: $0) } }
        let routes = RouteViews(state: state)
        // As `ip neigh` shows them: NOARP pseudo-entries (loopback, multicast) left out.
        let neighbors = state.neighbors.compactMap { n -> NeighborView? in
            guard let address = n.destination, !n.state.contains(.noARP) else { return nil }
            return NeighborView(
                address: address.description, linkAddress: n.linkAddress?.description,
                interface: name(n.interfaceIndex) ?? "if\(n.interfaceIndex)", state: n.state.names)
        }
        let fdb = state.forwardingDatabase.compactMap { entry -> ForwardingEntryView? in
            guard let mac = entry.linkAddress else { return nil }
            return ForwardingEntryView(
                mac: mac.description, destination: entry.destination?.description,
                interface: name(entry.interfaceIndex) ?? "if\(entry.interfaceIndex)")
        }
        return NamespaceView(
            namespace: namespace, state: state, interfaces: interfaces, routes: routes,
            neighbors: neighbors, forwardingDatabase: fdb)
    }

    /// The programs on the namespace's interfaces, by interface index: asked only of a live
    /// namespace, and only when the kernel has programs that attach to interfaces at all.
    static func attachedPrograms(access: any NamespaceAccess, links: [Link]) -> [Int32: [AttachedProgram]] {
        guard let handle = access.handle, case .some = NodePrograms.onInterfacePaths(),
            let reading = try? handle.run({ AttachedPrograms.read(links: links, socket: handle.socket) })
        else { return [:] }
        return Dictionary(grouping: reading.programs, by: \.interfaceIndex)
    }

    static func interfaceView(_ link: Link, state: NamespaceState, access: any NamespaceAccess, node: any NodeAccess) -> InterfaceView {
        var peer: InterfaceView.Peer? = nil
        let namespace = access.known
        if link.kind == "veth", let peerIndex = link.linkIndex {
            if let nsid = link.linkNetnsID, nsid >= 0 {
                if let other = access.peer(nsid: nsid) {
                    let otherState = try? node.open(other).state()
                    peer = .init(
                        namespace: other.name, interface: otherState?.link(index: peerIndex)?.name ?? "if\(peerIndex)",
                        index: peerIndex)
                } else {
                    peer = .init(namespace: "nsid \(nsid)", interface: "if\(peerIndex)", index: peerIndex)
                }
            } else if let local = state.link(index: peerIndex) {
                peer = .init(namespace: namespace.name, interface: local.name, index: peerIndex)
            }
        }
        var details: String? = nil
        if let vxlan = link.vxlan {
            details = [
                "vni \(vxlan.vni.map(String.init) ?? "?")", vxlan.local.map { "local \($0)" },
                vxlan.port.map { "port \($0)" }, vxlan.underlayIndex.flatMap { state.link(index: Int32($0))?.name }.map { "dev \($0)" },
                vxlan.learning == false ? "nolearning" : nil,
            ].compactMap { $0 }.joined(separator: " ")
        } else if let geneve = link.geneve {
            details = ["vni \(geneve.vni.map(String.init) ?? "?")", geneve.remote.map { "remote \($0)" }, geneve.port.map { "port \($0)" }]
                .compactMap { $0 }.joined(separator: " ")
        } else if let tunnel = link.tunnel {
            details = [tunnel.local.map { "local \($0)" }, tunnel.remote.map { "remote \($0)" }].compactMap { $0 }.joined(separator: " ")
        }
        let kind = link.kind ?? (link.flags & Link.iffLoopback != 0 ? "loopback" : "device")
        let addresses = state.addresses(of: link.index)
        var flags: [String: [String]] = [:]
        for address in addresses {
            let notable = address.flags.subtracting([.permanent, .secondary, .noDAD]).names
            if let cidr = address.cidr, !notable.isEmpty { flags[cidr] = notable }
        }
        return InterfaceView(
            name: link.name, index: link.index, kind: kind, mtu: link.mtu.map(Int.init), up: link.isUp,
            operState: link.operState.name, mac: link.address?.description,
            addresses: addresses.compactMap(\.cidr), addressFlags: flags,
            master: link.masterIndex.flatMap { state.link(index: $0)?.name }, peer: peer,
            details: details?.isEmpty == true ? nil : details)
    }

}

import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem

/// An interface on this node's part of a path, with the MTU it allows.
public struct PathInterface: Sendable, Equatable {
    public enum Role: String, Sendable {
        case source, route, hostSide = "host side", bridge, overlay, underlay, output
        /// On the remote node, as its agent reported: the destination pod's interface, and the others.
        case destination, remote
    }

    public var namespace: String
    public var name: String
    public var kind: String
    public var mtu: Int
    public var role: Role
    /// For an overlay: the bytes encapsulation adds (VXLAN/Geneve 50, IP-in-IP 20).
    public var overhead: Int?

    /// What this hop lets through for the pod: an overlay carries its underlay's MTU minus the
    /// encapsulation, and its own MTU.
    public var carries: Int { mtu }

    public var label: String { "\(namespace):\(name) (\(kind)) \(mtu)" }

    public init(namespace: String, name: String, kind: String, mtu: Int, role: Role, overhead: Int? = nil) {
        self.namespace = namespace
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.role = role
        self.overhead = overhead
    }
}

/// Walks this node's part of the path from a namespace towards a destination, as the kernel
/// routes it: the source's route and interface, its veth's host side, the node's route from
/// there (bridge, overlay device and its underlay, or the uplink).
enum PathWalker {
    static func walk(from source: KnownNamespace, socket: RouteSocket, state: NamespaceState, destination: IPAddress,
                     directory: NamespaceDirectory) -> [PathInterface] {
        var hops: [PathInterface] = []
        // The FIB entry (RTM_F_FIB_MATCH), not the lookup's result: the latter carries the cached
        // PMTU exception as its MTU, the former only what was configured.
        guard let reply = try? socket.request(RouteRequest.lookup(destination: destination)),
              let route = try? Route(reply), let out = route.outputIndex, let link = state.link(index: out) else { return hops }
        let configured = (try? socket.request(RouteRequest.lookup(destination: destination, fibMatch: true))).flatMap { try? Route($0) }
        hops.append(hop(source.name, link, .source))
        if let mtu = configured?.mtu {
            hops.append(PathInterface(namespace: source.name, name: "route to \(destination)", kind: "route metric", mtu: Int(mtu), role: .route))
        }
        hops += overlayHops(link, state: state, namespace: source.name)
        // A veth into another namespace: continue on its host side.
        guard link.kind == "veth", let peerIndex = link.linkIndex, let nsid = link.linkNetnsID, nsid >= 0,
              let host = directory.resolve(nsid: nsid, seenFrom: source, socket: socket),
              let opened = try? directory.open(host),
              let hostSocket = try? RouteSocket.open(in: host.name == "node" ? nil : opened),
              let hostState = try? NamespaceReader.read(socket: hostSocket, inNamespace: { body in body() }),
              let veth = hostState.link(index: peerIndex) else { return hops }
        hops.append(hop(host.name, veth, .hostSide))
        if let master = veth.masterIndex, let bridge = hostState.link(index: master) { hops.append(hop(host.name, bridge, .bridge)) }
        let podAddress = route.preferredSource
        guard let forward = try? hostSocket.request(RouteRequest.lookup(destination: destination, source: podAddress,
                                                                          inputIndex: veth.index, fibMatch: true)),
              let hostRoute = try? Route(forward), let hostOut = hostRoute.outputIndex,
              let next = hostState.link(index: hostOut), next.index != veth.masterIndex else { return hops }
        let overlay = overlayHops(next, state: hostState, namespace: host.name)
        if overlay.isEmpty { hops.append(hop(host.name, next, .output)) }
        if let mtu = hostRoute.mtu {
            hops.append(PathInterface(namespace: host.name, name: "route to \(destination)", kind: "route metric", mtu: Int(mtu), role: .route))
        }
        hops += overlay
        return hops
    }

    static func hop(_ namespace: String, _ link: Link, _ role: PathInterface.Role) -> PathInterface {
        PathInterface(namespace: namespace, name: link.name, kind: link.kind ?? "device", mtu: Int(link.mtu ?? 0), role: role)
    }

    /// An overlay device and the underlay it sends on.
    static func overlayHops(_ link: Link, state: NamespaceState, namespace: String) -> [PathInterface] {
        let overhead: Int
        let underlayIndex: UInt32?
        switch link.kind {
        case "vxlan": overhead = 50; underlayIndex = link.vxlan?.underlayIndex
        case "geneve": overhead = 50; underlayIndex = nil
        case "ipip": overhead = 20; underlayIndex = link.tunnel?.underlayIndex
        case "wireguard": overhead = 60; underlayIndex = nil
        default: return []
        }
        var hops = [PathInterface(namespace: namespace, name: link.name, kind: link.kind!, mtu: Int(link.mtu ?? 0), role: .overlay,
                                  overhead: overhead)]
        if let index = underlayIndex, index > 0, let underlay = state.link(index: Int32(index)) {
            var u = hop(namespace, underlay, .underlay)
            u.overhead = overhead
            hops.append(u)
        }
        return hops
    }

    /// What the source sends with: its interface's MTU, or a smaller configured route MTU.
    static func sourceMTU(_ hops: [PathInterface]) -> Int? {
        hops.filter { $0.role == .source || ($0.role == .route && hops.firstIndex(of: $0) == 1) }.map(\.mtu).filter { $0 > 0 }.min()
    }

    /// The largest packet this node's part of the path can carry.
    static func expectedMTU(_ hops: [PathInterface]) -> Int? {
        hops.map { hop in hop.role == .underlay ? hop.mtu - (hop.overhead ?? 0) : hop.mtu }.filter { $0 > 0 }.min()
    }
}

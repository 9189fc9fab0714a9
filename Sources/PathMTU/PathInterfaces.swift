import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

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

/// This node's part of a path as mtu-probe lists it, made from gathered facts: the source's
/// interface and route, its veth's host side, the node's route from there (bridge, overlay device
/// and its underlay, or the uplink), each with the MTU it allows. Route MTUs are the configured
/// FIB entries' (RTM_F_FIB_MATCH), not a lookup's, which carries a cached PMTU exception.
public enum PathInterfaces {
    public static func from(_ facts: PathFacts) -> [PathInterface] {
        guard let source = facts.sourceNamespace, let link = facts.source?.interface else { return [] }
        let name = source.known.name
        var hops = [hop(name, link, .source)]
        if let mtu = configured(in: source.label, facts)?.mtu {
            hops.append(
                PathInterface(
                    namespace: name, name: "route to \(facts.destinationAddress)", kind: "route metric", mtu: Int(mtu), role: .route))
        }
        hops += overlayHops(link, state: source.state, namespace: name)
        guard let node = facts.nodeNamespace, let veth = facts.node?.hostVeth else { return hops }
        let host = node.known.name
        hops.append(hop(host, veth, .hostSide))
        if let master = veth.masterIndex, let bridge = node.state.link(index: master) { hops.append(hop(host, bridge, .bridge)) }
        guard let route = configured(in: node.label, facts), let out = route.outputIndex.flatMap({ node.state.link(index: $0) }),
            out.index != veth.masterIndex
        else { return hops }
        let overlay = overlayHops(out, state: node.state, namespace: host)
        if overlay.isEmpty { hops.append(hop(host, out, .output)) }
        if let mtu = route.mtu {
            hops.append(
                PathInterface(
                    namespace: host, name: "route to \(facts.destinationAddress)", kind: "route metric", mtu: Int(mtu), role: .route))
        }
        return hops + overlay
    }

    static func configured(in label: String, _ facts: PathFacts) -> Route? {
        facts.lookups.first { $0.purpose == .configured && $0.namespace == label }?.answer.route
    }

    static func hop(_ namespace: String, _ link: Link, _ role: PathInterface.Role) -> PathInterface {
        PathInterface(namespace: namespace, name: link.name, kind: link.kind ?? "device", mtu: Int(link.mtu ?? 0), role: role)
    }

    /// An overlay device and the underlay it sends on. A VXLAN device over an IPv6 underlay
    /// (flannel-v6.1) costs 20 bytes more: its outer header is IPv6's 40, not IPv4's 20.
    static func overlayHops(_ link: Link, state: NamespaceState, namespace: String) -> [PathInterface] {
        let overhead: Int
        let underlayIndex: UInt32?
        // The outer family is known for VXLAN (its local address); the others are taken as IPv4's.
        guard let kind = link.kind, let bytes = Tunnels.overhead(kind: kind, outerIPv6: link.vxlan?.local?.isIPv4 == false) else {
            return []
        }
        overhead = bytes
        switch kind {
        case "vxlan": underlayIndex = link.vxlan?.underlayIndex
        case "ipip": underlayIndex = link.tunnel?.underlayIndex
        default: underlayIndex = nil
        }
        var hops = [
            PathInterface(
                namespace: namespace, name: link.name, kind: link.kind!, mtu: Int(link.mtu ?? 0), role: .overlay,
                overhead: overhead)
        ]
        if let index = underlayIndex, index > 0, let underlay = state.link(index: Int32(index)) {
            var u = hop(namespace, underlay, .underlay)
            u.overhead = overhead
            hops.append(u)
        }
        return hops
    }

    /// What the source sends with: its interface's MTU, or a smaller configured route MTU.
    public static func sourceMTU(_ hops: [PathInterface]) -> Int? {
        hops.filter { $0.role == .source || ($0.role == .route && hops.firstIndex(of: $0) == 1) }.map(\.mtu).filter { $0 > 0 }.min()
    }

    /// The largest packet this node's part of the path can carry.
    public static func expectedMTU(_ hops: [PathInterface]) -> Int? {
        hops.map { hop in hop.role == .underlay ? hop.mtu - (hop.overhead ?? 0) : hop.mtu }.filter { $0 > 0 }.min()
    }
}

import KernelState
import NetAddress
import NetlinkCodec

/// A VXLAN device of the node and the way to its peers: the address and link it sends from
/// (IFLA_VXLAN_LOCAL and _LINK, as flannel, Calico and Cilium's tunnel mode set them), and, for
/// each remote VTEP its forwarding entries name, the route the kernel takes to it.
public struct OverlayUnderlay: Sendable, Equatable {
    public var device: String
    public var local: IPAddress?
    /// The link the device is bound to, by name; nil when unbound.
    public var link: String?
    public var remotes: [Remote]

    public struct Remote: Sendable, Equatable {
        public var address: IPAddress
        /// The interface the kernel sends to it by, and the source it picks; nil with `problem`.
        public var interface: String?
        public var source: IPAddress?
        public var problem: String?

        public init(address: IPAddress, interface: String?, source: IPAddress?, problem: String?) {
            self.address = address
            self.interface = interface
            self.source = source
            self.problem = problem
        }
    }

    /// At most this many remotes per device are looked up: a cluster of thousands of nodes has
    /// as many entries, and a few say whether the underlay is the right one.
    public static let remoteLimit = 32

    /// The VXLAN devices of `node` with a local address or link and forwarding entries to other
    /// VTEPs, their routes asked of `route` (the kernel's answer: policy routing included).
    public static func read(_ node: NamespaceState, route: (IPAddress) -> Remote) -> [OverlayUnderlay] {
        node.links.compactMap { link in
            guard link.kind == "vxlan", let vxlan = link.vxlan, vxlan.local != nil || vxlan.underlayIndex != nil else { return nil }
            var seen = Set<IPAddress>()
            let remotes = node.forwardingDatabase.filter { $0.interfaceIndex == link.index }.compactMap(\.destination).filter {
                !$0.isUnspecified && seen.insert($0).inserted
            }
            guard !remotes.isEmpty else { return nil }
            return OverlayUnderlay(
                device: link.name, local: vxlan.local, link: vxlan.underlayIndex.flatMap { node.name(ofIndex: Int32(bitPattern: $0)) },
                remotes: remotes.prefix(remoteLimit).map(route))
        }
    }
}

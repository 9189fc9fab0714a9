import KernelState
import NetAddress
import NetlinkCodec

/// Which peers a node's watcher probes: not every other node (N² probes), but the next few on a
/// ring ordered by a hash of node names, as kubenurse limits its neighbours. Every node is
/// probed by that many others, the set is stable while membership is, and it rotates when nodes
/// come and go. Pure: tested on names alone.
public enum PeerRing {
    /// The `size` peers after `me` on the ring of `nodes` (me included or not), by FNV-1a of the
    /// name; fewer when there are fewer others.
    public static func peers(of me: String, among nodes: [String], size: Int) -> [String] {
        let ring = Set(nodes + [me]).sorted { (hash($0), $0) < (hash($1), $1) }
        guard let mine = ring.firstIndex(of: me), ring.count > 1, size > 0 else { return [] }
        return (1...min(size, ring.count - 1)).map { ring[(mine + $0) % ring.count] }
    }

    /// FNV-1a, 64 bits: stable across runs and machines (Swift's Hasher is seeded per process).
    static func hash(_ name: String) -> UInt64 {
        var value: UInt64 = 0xcbf29ce484222325
        for byte in name.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100000001b3
        }
        return value
    }

    /// The other nodes this node's kernel knows without an API server: the remote ends of its
    /// overlay devices' forwarding entries (VXLAN `dst`), and the gateways of routes towards pod
    /// networks over the uplink (host-gw, routed CNIs). Its own addresses are left out.
    public static func nodeAddresses(in state: NamespaceState) -> [IPAddress] {
        let own = Set(state.addresses.compactMap(\.address))
        let overlays = Set(state.links.filter(\.isLinkLayerOverlay).map(\.index))
        var found: [IPAddress] = []
        for entry in state.forwardingDatabase where overlays.contains(entry.interfaceIndex) {
            if let remote = entry.destination, !own.contains(remote), !remote.isUnspecified { found.append(remote) }
        }
        for route in state.mainRoutes where route.destinationLength > 0 && route.type == .unicast {
            guard let gateway = route.gateway, let out = route.outputIndex, !overlays.contains(out), !gateway.isLinkLocal,
                !own.contains(gateway), state.link(index: out)?.kind != "veth"
            else { continue }
            found.append(gateway)
        }
        var seen = Set<IPAddress>()
        return found.filter { seen.insert($0).inserted }
    }
}

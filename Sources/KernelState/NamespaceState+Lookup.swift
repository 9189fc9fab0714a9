import NetAddress
import NetlinkCodec

extension NamespaceState {
    /// The main and local tables' unicast and local routes, as a longest-prefix table wants them
    /// (it keeps the first of each prefix): local first (the kernel asks the local table before
    /// the main one), then by metric (of two routes for one prefix the kernel uses the lower).
    /// Policy routing is not in it: where that matters, ask the kernel.
    public var unicastRoutesForLookup: [(prefix: IPPrefix, value: Route)] {
        routes.compactMap { route -> (prefix: IPPrefix, value: Route)? in
            guard route.table == .main || route.table == .local,
                route.type == .unicast || route.type == .local
            else { return nil }
            let destination =
                route.destination ?? IPAddress(bytes: route.family == .inet ? [0, 0, 0, 0] : [UInt8](repeating: 0, count: 16))
            return (IPPrefix(address: destination, length: Int(route.destinationLength)), route)
        }.sorted { a, b in
            let (ta, tb) = (a.value.table == .local ? 0 : 1, b.value.table == .local ? 0 : 1)
            return ta != tb ? ta < tb : (a.value.priority ?? 0) < (b.value.priority ?? 0)
        }
    }
}

extension NamespaceState {
    /// The node's own address, where its agent listens by default: that of its default route's
    /// interface, else of the underlay its overlay device sends on, else the first global
    /// address of an interface that is no bridge, bridge port, overlay or loopback.
    public var nodeAddress: IPAddress? {
        let global = { (index: Int32) in addresses(of: index).first { $0.scope == .universe && $0.address?.isLinkLocal == false }?.address }
        let candidates =
            mainRoutes.filter { $0.destinationLength == 0 }.compactMap(\.outputIndex)
            + links.compactMap { $0.vxlan?.underlayIndex.map { Int32($0) } }
            + links.filter { link in
                link.kind != "bridge" && !link.isOverlay && link.masterIndex == nil && link.flags & Link.iffLoopback == 0
            }.map(\.index)
        return candidates.lazy.compactMap(global).first
    }
}

extension NamespaceState {
    /// Where an overlay device sends packets for `gateway` (the remote VTEP's address): its
    /// neighbour entry's MAC, and the FDB entry for that MAC naming the remote node.
    public func overlayDestination(of gateway: IPAddress, on device: Link) -> (neighbor: Neighbor?, fdb: Neighbor?, remote: IPAddress?)? {
        let entry = neighbor(gateway, on: device.index)
        guard let entry, let mac = entry.linkAddress, !entry.state.isBroken else { return (entry, nil, nil) }
        let fdb = forwardingDatabase.first { $0.linkAddress == mac && $0.interfaceIndex == device.index }
        return (entry, fdb, fdb?.destination)
    }
}

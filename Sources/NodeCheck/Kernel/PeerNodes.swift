import KernelState
import NetAddress

/// The other nodes this one sends pod traffic to, by their underlay addresses, from the node's
/// own routes: a pod subnet's gateway where the route leaves by a plain interface (routed, BGP),
/// the remote VTEP of the overlay's FDB where it leaves by an overlay (flannel's VXLAN). Where
/// their agents are asked for their health.
public enum PeerNodes {
    public static func addresses(of node: NamespaceState) -> [IPAddress] {
        var found: [IPAddress] = []
        for route in node.mainRoutes where route.type == .unicast && route.destinationLength > 0 {
            guard let gateway = route.gateway, let index = route.outputIndex, let device = node.link(index: index) else { continue }
            let address = device.isOverlay ? node.overlayDestination(of: gateway, on: device)?.remote : gateway
            if let address, !found.contains(address) { found.append(address) }
        }
        return found
    }
}

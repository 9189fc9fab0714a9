import KernelState
import NetAddress
import NetlinkCodec
import Pods

/// What `mtu-probe` without a destination measures: each local pod towards every other pod
/// subnet this node routes (one address in it that the remote node answers for) and towards
/// another local pod.
public enum Sweep {
    public struct Target: Sendable {
        public var name: String
        public var address: IPAddress

        public init(name: String, address: IPAddress) {
            self.name = name
            self.address = address
        }
    }

    /// Remote pod subnets: main-table routes with a gateway or through an overlay device,
    /// neither the default nor the underlay's own subnet. Their first host address (the remote
    /// node's bridge or gateway) is probed.
    public static func remoteTargets(node: NamespaceState) -> [Target] {
        var targets: [Target] = []
        for route in node.mainRoutes where route.type == .unicast && route.family == .inet {
            guard let destination = route.destination, route.destinationLength >= 8, route.destinationLength <= 30 else { continue }
            let viaOverlay = route.outputIndex.flatMap { node.link(index: $0) }?.isOverlay ?? false
            guard route.gateway != nil || viaOverlay else { continue }
            var bytes = destination.bytes
            bytes[3] |= 1
            let address = IPAddress(bytes: bytes)
            targets.append(Target(name: "\(route.destinationText) (\(address))", address: address))
        }
        return targets
    }
}

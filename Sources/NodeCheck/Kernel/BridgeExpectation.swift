import CNIDetection
import ConfigFormats
import NetAddress

/// The address the bridge plugin gives its bridge: with `isGateway` (or `isDefaultGateway`),
/// the IPAM result's gateway with the subnet's length, per family. It refuses to go on when the
/// bridge has another IPv4 address, or an IPv6 one overlapping the new one, unless
/// `forceAddress` ("cni0 already has an IP address different from 10.244.1.1/24"; plugins'
/// bridge.go ensureAddr).
public struct BridgeExpectation: Sendable, Equatable {
    public var bridge: String
    /// Addresses the bridge may carry, "gateway/length", any one range's of each range set.
    public var expected: [IPPrefix]
    public var forceAddress: Bool
    public var source: String

    public static let defaultBridge = "cni0"

    /// The expectations of the active network: its bridge plugins, and flannel's delegate (a
    /// bridge with isGateway unless its delegate says otherwise), over the pools already read.
    public static func of(_ network: NetworkConfig, file: String, pools: [HostLocalPool]) -> [BridgeExpectation] {
        var found: [BridgeExpectation] = []
        for (index, plugin) in network.plugins.enumerated() {
            let place = "\(file) plugins[\(index)] (\(plugin.type ?? "?"))"
            let bridgeConfig: ConfigObject
            if plugin.type == "bridge" {
                bridgeConfig = plugin.raw
            } else if plugin.type == "flannel" {
                let delegate = plugin.raw.field("delegate")?.object ?? ConfigObject()
                guard (delegate.field("type")?.string ?? "bridge") == "bridge" else { continue }
                // flannel sets isGateway on its delegate unless the delegate sets it.
                bridgeConfig = delegate.field("isGateway") == nil ? delegate.adding("isGateway", .bool(true)) : delegate
            } else {
                continue
            }
            let gateway = bridgeConfig.field("isGateway")?.bool == true || bridgeConfig.field("isDefaultGateway")?.bool == true
            guard gateway, let pool = pools.first(where: { $0.source.hasPrefix(place) }) else { continue }
            let expected = pool.rangeSets.flatMap { set in
                set.compactMap { range in range.gateway.map { IPPrefix(address: $0, length: range.subnet.length) } }
            }
            guard !expected.isEmpty else { continue }
            found.append(
                BridgeExpectation(
                    bridge: bridgeConfig.field("bridge")?.string.flatMap { $0.isEmpty ? nil : $0 } ?? defaultBridge,
                    expected: expected, forceAddress: bridgeConfig.field("forceAddress")?.bool == true, source: place))
        }
        return found
    }
}

extension ConfigObject {
    /// The object with one more member at its end (which a lookup then sees).
    func adding(_ key: String, _ value: ConfigValue) -> ConfigObject {
        var copy = self
        copy.members.append(Member(key: key, value: value))
        return copy
    }
}

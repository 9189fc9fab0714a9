import NetlinkCodec

/// How pod packets cross between nodes, as the contract names it.
public enum Encapsulation: String, Sendable, CaseIterable {
    case vxlan, geneve, ipip, wireguard, none, unknown

    /// Bytes the CNI sets aside for the encapsulation below the uplink's MTU: what the tunnel
    /// adds on an IPv4 underlay (Tunnels.overhead), except WireGuard under flannel and Cilium,
    /// which reserve its IPv6 figure (80) where Calico reserves the IPv4 one (60).
    public func overhead(family: String?) -> Int? {
        switch self {
        case .vxlan, .geneve, .ipip: Tunnels.overhead(kind: rawValue)
        case .wireguard: Tunnels.overhead(kind: rawValue, outerIPv6: !(family == "calico" || family == "canal"))
        case .none: 0
        case .unknown: nil
        }
    }

    /// flannel's `Backend.Type` in net-conf.json.
    public static func flannelBackend(_ type: String) -> Encapsulation {
        switch type.lowercased() {
        case "vxlan": .vxlan
        case "host-gw", "alloc", "gce", "aws-vpc", "ali-vpc", "tencent-vpc": .none
        case "ipip": .ipip
        case "wireguard", "extension-wireguard": .wireguard
        default: .unknown  // udp and ipsec carry packets in ways the contract does not name
        }
    }
}

/// An answer and where it came from, so the report can say why it believes it.
public struct Sourced<Value: Sendable & Equatable>: Sendable, Equatable {
    public var value: Value
    public var source: String

    public init(_ value: Value, _ source: String) {
        self.value = value
        self.source = source
    }
}

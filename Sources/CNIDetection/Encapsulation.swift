/// How pod packets cross between nodes, as the contract names it.
public enum Encapsulation: String, Sendable, CaseIterable {
    case vxlan, geneve, ipip, wireguard, none, unknown

    /// Bytes the encapsulation adds to every pod packet on an IPv4 underlay (FACTS §4): VXLAN and
    /// Geneve without options 20 IP + 8 UDP + 8 header + 14 inner Ethernet, IP-in-IP 20,
    /// WireGuard 60 (Calico's figure; flannel and Cilium reserve 80).
    public func overhead(family: String?) -> Int? {
        switch self {
        case .vxlan, .geneve: 50
        case .ipip: 20
        case .wireguard: family == "calico" || family == "canal" ? 60 : 80
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

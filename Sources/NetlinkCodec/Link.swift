import NetAddress

/// A network interface as RTM_NEWLINK describes it (struct ifinfomsg + IFLA_* attributes).
public struct Link: Sendable, Equatable {
    public var index: Int32
    /// ARPHRD_* (1 Ethernet, 772 loopback, 768 IP-in-IP tunnel, 65534 none).
    public var hardwareType: UInt16
    /// IFF_* flags.
    public var flags: UInt32
    public var name: String
    public var mtu: UInt32?
    public var address: LinkAddress?
    /// IFLA_LINK: for a veth, the peer's ifindex in the peer's namespace; for a tunnel, the underlay.
    public var linkIndex: Int32?
    /// IFLA_LINK_NETNSID: the namespace id (local to this namespace) where `linkIndex` lives.
    public var linkNetnsID: Int32?
    /// IFLA_MASTER: the bridge (or bond, VRF) this interface is a port of.
    public var masterIndex: Int32?
    public var operState: OperState
    /// IFLA_INFO_KIND: veth, bridge, vxlan, geneve, ipip, wireguard, dummy, …; nil for physical NICs.
    public var kind: String?
    /// IFLA_INFO_SLAVE_KIND: "bridge" for a bridge port.
    public var portKind: String?
    public var vxlan: VXLANInfo?
    public var geneve: GeneveInfo?
    public var tunnel: TunnelInfo?
    /// The attributes exactly as received (unknown ones included), decoded on demand.
    public var rawAttributes: ArraySlice<UInt8>
    public var attributes: [Attribute] { (try? Attribute.parseAll(rawAttributes)) ?? [] }

    public static let iffUp: UInt32 = 0x1
    public static let iffLoopback: UInt32 = 0x8
    public static let iffLowerUp: UInt32 = 0x10000

    /// Administratively up (IFF_UP).
    public var isUp: Bool { flags & Self.iffUp != 0 }
    /// Carrier present (IFF_LOWER_UP).
    public var hasCarrier: Bool { flags & Self.iffLowerUp != 0 }

    public enum OperState: UInt8, Sendable {
        case unknown = 0, notPresent = 1, down = 2, lowerLayerDown = 3, testing = 4, dormant = 5, up = 6

        public var name: String {
            switch self {
            case .unknown: "UNKNOWN"
            case .notPresent: "NOTPRESENT"
            case .down: "DOWN"
            case .lowerLayerDown: "LOWERLAYERDOWN"
            case .testing: "TESTING"
            case .dormant: "DORMANT"
            case .up: "UP"
            }
        }
    }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.payload.count >= 16 else { throw NetlinkDecodeError("ifinfomsg shorter than 16 bytes", offset: 0) }
        let r = WireReader(message.payload)
        hardwareType = r.u16(2)
        index = r.i32(4)
        flags = r.u32(8)
        rawAttributes = message.payload.dropFirst(16)
        let attributes = try Attribute.parseAll(rawAttributes)
        name = attributes.first(3)?.string ?? ""
        mtu = attributes.first(4)?.u32
        address = attributes.first(1).flatMap { $0.payload.isEmpty ? nil : LinkAddress(Array($0.payload)) }
        linkIndex = attributes.first(5)?.i32
        masterIndex = attributes.first(10)?.i32
        operState = OperState(rawValue: attributes.first(16)?.u8 ?? 0) ?? .unknown
        linkNetnsID = attributes.first(37)?.i32
        if let info = try attributes.first(18)?.nested() {
            kind = info.first(1)?.string
            portKind = info.first(4)?.string
            if let data = try info.first(2)?.nested() {
                switch kind {
                case "vxlan": vxlan = VXLANInfo(data)
                case "geneve": geneve = GeneveInfo(data)
                case "ipip", "sit", "gre": tunnel = TunnelInfo(data)
                default: break
                }
            }
        }
    }
}

/// IFLA_VXLAN_*: the VNI, the underlay source and device, the UDP port.
public struct VXLANInfo: Sendable, Equatable {
    public var vni: UInt32?
    public var local: IPAddress?
    public var group: IPAddress?
    /// The underlay interface's ifindex.
    public var underlayIndex: UInt32?
    /// Destination UDP port (network order on the wire); the kernel's default is 8472.
    public var port: UInt16?
    public var learning: Bool?

    init(_ data: [Attribute]) {
        vni = data.first(1)?.u32
        group = data.first(2).flatMap { IPAddress(wire: $0.payload) }
        underlayIndex = data.first(3)?.u32
        local = data.first(4).flatMap { IPAddress(wire: $0.payload) } ?? data.first(17).flatMap { IPAddress(wire: $0.payload) }
        learning = data.first(7)?.u8.map { $0 != 0 }
        port = data.first(15)?.u16BigEndian
    }
}

/// IFLA_GENEVE_*.
public struct GeneveInfo: Sendable, Equatable {
    public var vni: UInt32?
    public var remote: IPAddress?
    public var port: UInt16?

    init(_ data: [Attribute]) {
        vni = data.first(1)?.u32
        remote = data.first(2).flatMap { IPAddress(wire: $0.payload) }
        port = data.first(5)?.u16BigEndian
    }
}

/// IFLA_IPTUN_*: IP-in-IP's underlay and endpoints.
public struct TunnelInfo: Sendable, Equatable {
    public var underlayIndex: UInt32?
    public var local: IPAddress?
    public var remote: IPAddress?

    init(_ data: [Attribute]) {
        underlayIndex = data.first(1)?.u32
        local = data.first(2).flatMap { IPAddress(wire: $0.payload) }
        remote = data.first(3).flatMap { IPAddress(wire: $0.payload) }
    }
}

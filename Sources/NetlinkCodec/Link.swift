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
    /// Forwarding, rp_filter, proxy ARP/NDP and accept_ra, as IFLA_AF_SPEC carries them.
    public var deviceConfig: DeviceConfig?
    /// IFLA_XDP: the XDP programs the link runs; nil when none.
    public var xdp: XDPAttachment?
    /// The attributes exactly as received (unknown ones included), decoded on demand.
    public var rawAttributes: ArraySlice<UInt8>
    public var attributes: [Attribute] { (try? Attribute.parseAll(rawAttributes)) ?? [] }

    public static let iffUp: UInt32 = 0x1
    public static let iffLoopback: UInt32 = 0x8

    /// Administratively up (IFF_UP).
    public var isUp: Bool { flags & Self.iffUp != 0 }

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
        let header = try LinkHeader(parsing: message.payload)
        hardwareType = header.hardwareType
        index = header.index
        flags = header.flags
        rawAttributes = message.payload.dropFirst(LinkHeader.size)
        let attributes = try Attribute.parseAll(rawAttributes)
        name = attributes.attribute(IFLA.ifname)?.string ?? ""
        mtu = attributes.attribute(IFLA.mtu)?.u32
        address = attributes.attribute(IFLA.address).flatMap { $0.payload.isEmpty ? nil : LinkAddress(Array($0.payload)) }
        linkIndex = attributes.attribute(IFLA.link)?.i32
        masterIndex = attributes.attribute(IFLA.master)?.i32
        operState = OperState(rawValue: attributes.attribute(IFLA.operstate)?.u8 ?? 0) ?? .unknown
        linkNetnsID = attributes.attribute(IFLA.linkNetnsID)?.i32
        deviceConfig = attributes.attribute(IFLA.afSpec).flatMap { DeviceConfig(afSpec: $0.payload) }
        if let nested = try attributes.attribute(IFLA.xdp)?.nested() { xdp = XDPAttachment(nested) }
        if let info = try attributes.attribute(IFLA.linkinfo)?.nested() {
            kind = info.attribute(IFLAInfo.kind)?.string
            portKind = info.attribute(IFLAInfo.slaveKind)?.string
            if let data = try info.attribute(IFLAInfo.data)?.nested() {
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
        vni = data.attribute(IFLAVXLAN.id)?.u32
        group = data.attribute(IFLAVXLAN.group).flatMap { IPAddress(wire: $0.payload) }
        underlayIndex = data.attribute(IFLAVXLAN.link)?.u32
        local =
            data.attribute(IFLAVXLAN.local).flatMap { IPAddress(wire: $0.payload) }
            ?? data.attribute(IFLAVXLAN.local6).flatMap { IPAddress(wire: $0.payload) }
        learning = data.attribute(IFLAVXLAN.learning)?.u8.map { $0 != 0 }
        port = data.attribute(IFLAVXLAN.port)?.u16BigEndian
    }
}

/// IFLA_GENEVE_*.
public struct GeneveInfo: Sendable, Equatable {
    public var vni: UInt32?
    public var remote: IPAddress?
    public var port: UInt16?

    init(_ data: [Attribute]) {
        vni = data.attribute(IFLAGeneve.id)?.u32
        remote = data.attribute(IFLAGeneve.remote).flatMap { IPAddress(wire: $0.payload) }
        port = data.attribute(IFLAGeneve.port)?.u16BigEndian
    }
}

/// IFLA_IPTUN_*: IP-in-IP's underlay and endpoints.
public struct TunnelInfo: Sendable, Equatable {
    public var underlayIndex: UInt32?
    public var local: IPAddress?
    public var remote: IPAddress?

    init(_ data: [Attribute]) {
        underlayIndex = data.attribute(IFLAIPTunnel.link)?.u32
        local = data.attribute(IFLAIPTunnel.local).flatMap { IPAddress(wire: $0.payload) }
        remote = data.attribute(IFLAIPTunnel.remote).flatMap { IPAddress(wire: $0.payload) }
    }
}

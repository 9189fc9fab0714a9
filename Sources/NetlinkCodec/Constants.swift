/// rtnetlink's attribute types and flags by the kernel's names (linux/if_link.h, rtnetlink.h,
/// if_addr.h, neighbour.h, net_namespace.h): the codec never spells a bare number.
public protocol AttributeType: RawRepresentable, Sendable where RawValue == UInt16 {}

/// IFLA_*: a link's attributes.
public enum IFLA: UInt16, AttributeType {
    case address = 1, broadcast = 2, ifname = 3, mtu = 4, link = 5, master = 10, operstate = 16, linkinfo = 18
    case extMask = 29, linkNetnsID = 37
}

/// IFLA_INFO_*: nested in IFLA_LINKINFO.
public enum IFLAInfo: UInt16, AttributeType {
    case kind = 1, data = 2, slaveKind = 4
}

/// IFLA_VXLAN_*: nested in IFLA_INFO_DATA of a vxlan link.
public enum IFLAVXLAN: UInt16, AttributeType {
    case id = 1, group = 2, link = 3, local = 4, learning = 7, port = 15, local6 = 17
}

/// IFLA_GENEVE_*.
public enum IFLAGeneve: UInt16, AttributeType {
    case id = 1, remote = 2, port = 5
}

/// IFLA_IPTUN_*: IP-in-IP, sit and GRE tunnels.
public enum IFLAIPTunnel: UInt16, AttributeType {
    case link = 1, local = 2, remote = 3
}

/// RTEXT_FILTER_* for IFLA_EXT_MASK.
public enum RTEXTFilter {
    /// Leave out VF info: big SR-IOV NICs would not fit a dump message otherwise.
    public static let vf: UInt32 = 1
}

/// RTA_*: a route's attributes.
public enum RTA: UInt16, AttributeType {
    case destination = 1, source = 2, inputInterface = 3, outputInterface = 4, gateway = 5, priority = 6
    case preferredSource = 7, metrics = 8, multipath = 9, table = 15, mark = 16
}

/// RTAX_*: nested in RTA_METRICS.
public enum RTAX: UInt16, AttributeType {
    case mtu = 2
}

/// RTM_F_*: rtmsg flags of a lookup.
public enum RTMFlags {
    /// Report the table the route came from (IPv4 only: IPv6 refuses it under strict checking).
    public static let lookupTable: UInt32 = 0x1000
    /// The matching FIB entry rather than the lookup's result.
    public static let fibMatch: UInt32 = 0x2000
}

/// IFA_*: an address's attributes.
public enum IFA: UInt16, AttributeType {
    case address = 1, local = 2, label = 3
}

/// NDA_*: a neighbour's (or FDB entry's) attributes.
public enum NDA: UInt16, AttributeType {
    case destination = 1, linkAddress = 2, vni = 7, master = 9
}

/// NETNSA_*: RTM_GETNSID's attributes.
public enum NETNSA: UInt16, AttributeType {
    case nsid = 1, pid = 2, fd = 3
}

/// nfnetlink's nf_tables subsystem (linux/netfilter/nfnetlink.h, nf_tables.h): the tables of a
/// namespace, as `nft list tables` asks for them.
public enum NFTables {
    /// NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE, and NFT_MSG_NEWTABLE for the answers.
    public static let getTable = MessageType(rawValue: 10 << 8 | 1)
    public static let newTable = MessageType(rawValue: 10 << 8 | 0)
    /// NFTA_TABLE_NAME.
    public static let tableName: UInt16 = 1

    /// A dump of every table of every family: struct nfgenmsg (family AF_UNSPEC, NFNETLINK_V0).
    public static var dumpTables: NetlinkMessage {
        NetlinkMessage(type: getTable, flags: [.request, .dump], payload: [0, 0, 0, 0])
    }

    /// The family (NFPROTO_*: 1 inet, 2 ip, 3 arp, 7 bridge, 10 ip6, 5 netdev) and name of a table.
    public static func table(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> (family: UInt8, name: String)? {
        guard message.type == newTable else { return nil }
        let header = try GenericHeader(parsing: message.payload)
        let name = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size)).first { $0.type == tableName }?.string
        return name.map { (header.family, $0) }
    }

    /// The family as nft writes it.
    public static func familyName(_ family: UInt8) -> String? {
        switch family {
        case 1: "inet"
        case 2: "ip"
        case 3: "arp"
        case 5: "netdev"
        case 7: "bridge"
        case 10: "ip6"
        default: nil
        }
    }
}

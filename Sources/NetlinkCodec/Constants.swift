/// rtnetlink's attribute types and flags by the kernel's names (linux/if_link.h, rtnetlink.h,
/// if_addr.h, neighbour.h, net_namespace.h): the codec never spells a bare number.
public protocol AttributeType: RawRepresentable, Sendable where RawValue == UInt16 {}

/// IFLA_*: a link's attributes.
public enum IFLA: UInt16, AttributeType {
    case address = 1, broadcast = 2, ifname = 3, mtu = 4, link = 5, master = 10, operstate = 16, linkinfo = 18
    case afSpec = 26, extMask = 29, linkNetnsID = 37, xdp = 43
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
    case preferredSource = 7, metrics = 8, multipath = 9, cacheInfo = 12, table = 15, mark = 16
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
    case address = 1, local = 2, label = 3, flags = 8
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

    /// NFT_MSG_GETCHAIN / NEWCHAIN, NFT_MSG_GETRULE / NEWRULE.
    public static let getChain = MessageType(rawValue: 10 << 8 | 4)
    public static let newChain = MessageType(rawValue: 10 << 8 | 3)
    public static let getRule = MessageType(rawValue: 10 << 8 | 7)
    public static let newRule = MessageType(rawValue: 10 << 8 | 6)

    /// A dump of one table's chains or rules (NFTA_CHAIN_TABLE / NFTA_RULE_TABLE = 1): the kernel
    /// sends that table's only, however big the others are.
    /// With `chain` (NFTA_RULE_CHAIN = 2), a rule dump of that chain alone: the kernel finds it
    /// by its hash, where a whole table's dump walks the table again from its start for every
    /// batch it sends (quadratic: 0.9 s for kube-proxy's 60,000 rules, against 0.2 s chain by chain).
    public static func dump(_ type: MessageType, family: UInt8, table: String, chain: String? = nil) -> NetlinkMessage {
        var w = WireWriter()
        GenericHeader(family: family).emit(into: &w)
        w.attribute(1, Array(table.utf8) + [0])
        if let chain { w.attribute(2, Array(chain.utf8) + [0]) }
        return NetlinkMessage(type: type, flags: [.request, .dump], payload: w.bytes)
    }

    /// NFT_MSG_GETGEN and its answer NFT_MSG_NEWGEN: the ruleset's generation, which every change
    /// to any table moves on.
    public static let getGeneration = MessageType(rawValue: 10 << 8 | 16)
    public static let newGeneration = MessageType(rawValue: 10 << 8 | 15)

    public static var generationRequest: NetlinkMessage {
        NetlinkMessage(type: getGeneration, flags: [.request], payload: GenericHeader().bytes)
    }

    /// NFTA_GEN_ID (be32).
    public static func generation(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> UInt32? {
        guard message.type == newGeneration, message.payload.count >= GenericHeader.size else { return nil }
        return try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size)).attribute(NFTA.Generation.id)?.u32BigEndian
    }

    /// A packet and byte count (struct nft_counter: NFTA_COUNTER_BYTES and _PACKETS, be64).
    public struct Counter: Sendable, Equatable {
        public var packets: UInt64
        public var bytes: UInt64
        public init(packets: UInt64, bytes: UInt64) {
            self.packets = packets
            self.bytes = bytes
        }
    }

    /// A chain's table and name and, for a base chain, its counters. A chain dump lists every table's chains of the
    /// family, whatever table the request names: the table is how a reader keeps its own.
    public static func chain(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> (table: String, name: String, counter: Counter?)? {
        guard message.type == newChain, message.payload.count >= GenericHeader.size else { return nil }
        let attributes = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size))
        guard let name = attributes.attribute(NFTA.Chain.name)?.string else { return nil }
        let table: String = attributes.attribute(NFTA.Chain.table).map(\.string) ?? ""
        return (
            table, name, try attributes.attribute(NFTA.Chain.counters).flatMap { a throws(NetlinkDecodeError) in try counter(a.nested()) }
        )
    }

    /// A rule's chain and the counter expression in it.
    public static func rule(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> (chain: String, counter: Counter?)? {
        guard message.type == newRule, message.payload.count >= GenericHeader.size else { return nil }
        let attributes = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size))
        guard let chain = attributes.attribute(NFTA.Rule.chain)?.string else { return nil }
        var found: Counter? = nil
        for element in try attributes.attribute(NFTA.Rule.expressions)?.nested() ?? [] {
            let parts = try element.nested()
            guard parts.attribute(NFTA.Expression.name)?.string == "counter", let data = parts.attribute(NFTA.Expression.data) else {
                continue
            }
            found = try counter(data.nested())
        }
        return (chain, found)
    }

    static func counter(_ attributes: [Attribute]) -> Counter? {
        guard let bytes = attributes.attribute(NFTA.Counter.bytes), let packets = attributes.attribute(NFTA.Counter.packets),
            bytes.payload.count == 8, packets.payload.count == 8
        else { return nil }
        return Counter(packets: bigEndian64(packets.payload), bytes: bigEndian64(bytes.payload))
    }

    static func bigEndian64(_ payload: ArraySlice<UInt8>) -> UInt64 { payload.reduce(0) { $0 << 8 | UInt64($1) } }

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

/// NLMSGERR_ATTR_*: the extended ack's attributes after an error's original request.
public enum NLMSGERR: UInt16, AttributeType {
    case message = 1, offset = 2
}

/// nf_tables' attributes (linux/netfilter/nf_tables.h), by message.
public enum NFTA {
    /// NFTA_GEN_*: NFT_MSG_NEWGEN.
    public enum Generation: UInt16, AttributeType { case id = 1 }
    /// NFTA_CHAIN_*.
    public enum Chain: UInt16, AttributeType { case table = 1, handle = 2, name = 3, counters = 8 }
    /// NFTA_RULE_*.
    public enum Rule: UInt16, AttributeType { case table = 1, chain = 2, handle = 3, expressions = 4, userdata = 7 }
    /// NFTA_EXPR_*: a list element of NFTA_RULE_EXPRESSIONS.
    public enum Expression: UInt16, AttributeType { case name = 1, data = 2 }
    /// NFTA_COUNTER_*.
    public enum Counter: UInt16, AttributeType { case bytes = 1, packets = 2 }
    /// NFTA_VERDICT_*.
    public enum Verdict: UInt16, AttributeType { case code = 1, chain = 2 }
    /// NFTA_TRACE_*: a trace event (NFT_MSG_TRACE).
    public enum Trace: UInt16, AttributeType {
        case table = 1, chain = 2, ruleHandle = 3, type = 4, verdict = 5, id = 6, inputInterface = 10, outputInterface = 12, policy = 16
    }
}

import NetAddress

/// A neighbour entry (ARP/NDP), or with family AF_BRIDGE a forwarding database entry, as
/// RTM_NEWNEIGH describes it (struct ndmsg + NDA_*).
public struct Neighbor: Sendable, Equatable {
    public var family: AddressFamily
    public var interfaceIndex: Int32
    public var state: State
    public var flags: UInt8
    /// NDA_DST: the neighbour's IP; for a VXLAN FDB entry, the remote VTEP.
    public var destination: IPAddress?
    public var linkAddress: LinkAddress?
    /// NDA_MASTER: the bridge of an FDB entry.
    public var masterIndex: Int32?
    public var vni: UInt32?
    /// The attributes exactly as received (unknown ones included), decoded on demand.
    public var rawAttributes: ArraySlice<UInt8>
    public var attributes: [Attribute] { (try? Attribute.parseAll(rawAttributes)) ?? [] }

    /// NTF_ROUTER (ndm_flags): the neighbour said it is a router (an RA, or an NA with R set).
    public static let flagRouter: UInt8 = 0x80

    /// NUD_* bits.
    public struct State: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let incomplete = State(rawValue: 0x01)
        public static let reachable = State(rawValue: 0x02)
        public static let stale = State(rawValue: 0x04)
        public static let delay = State(rawValue: 0x08)
        public static let probe = State(rawValue: 0x10)
        public static let failed = State(rawValue: 0x20)
        public static let noARP = State(rawValue: 0x40)
        public static let permanent = State(rawValue: 0x80)

        /// Names as ip prints them.
        public var names: [String] {
            let all: [(State, String)] = [
                (.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"),
                (.delay, "DELAY"), (.probe, "PROBE"), (.failed, "FAILED"), (.noARP, "NOARP"),
                (.permanent, "PERMANENT"),
            ]
            let names = all.filter { contains($0.0) }.map(\.1)
            return names.isEmpty ? ["NONE"] : names
        }

        /// FAILED or INCOMPLETE: the next hop does not answer.
        public var isBroken: Bool { contains(.failed) || contains(.incomplete) }
    }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        let header = try NeighborHeader(parsing: message.payload)
        family = AddressFamily(rawValue: header.family)
        interfaceIndex = header.index
        state = State(rawValue: header.state)
        flags = header.flags
        rawAttributes = message.payload.dropFirst(NeighborHeader.size)
        let attributes = try Attribute.parseAll(rawAttributes)
        destination = attributes.attribute(NDA.destination).flatMap { IPAddress(wire: $0.payload) }
        linkAddress = attributes.attribute(NDA.linkAddress).map { LinkAddress(Array($0.payload)) }
        vni = attributes.attribute(NDA.vni)?.u32
        masterIndex = attributes.attribute(NDA.master)?.i32
    }
}

/// RTM_NEWNSID: the id this namespace gives another (NETNSA_NSID), -1 when none is assigned.
public struct NamespaceID: Sendable, Equatable {
    public var nsid: Int32

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        _ = try GenericHeader(parsing: message.payload)
        nsid = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size)).attribute(NETNSA.nsid)?.i32 ?? -1
    }
}

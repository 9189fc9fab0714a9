import NetAddress

/// A neighbour entry (ARP/NDP), or with family AF_BRIDGE a forwarding database entry, as
/// RTM_NEWNEIGH describes it (struct ndmsg + NDA_*).
public struct Neighbor: Sendable, Equatable {
    public var family: UInt8
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

    public static let familyBridge: UInt8 = 7

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
            let all: [(State, String)] = [(.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"),
                                          (.delay, "DELAY"), (.probe, "PROBE"), (.failed, "FAILED"), (.noARP, "NOARP"),
                                          (.permanent, "PERMANENT")]
            let names = all.filter { contains($0.0) }.map(\.1)
            return names.isEmpty ? ["NONE"] : names
        }

        /// FAILED or INCOMPLETE: the next hop does not answer.
        public var isBroken: Bool { contains(.failed) || contains(.incomplete) }
    }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.payload.count >= 12 else { throw NetlinkDecodeError("ndmsg shorter than 12 bytes", offset: 0) }
        let r = WireReader(message.payload)
        family = r.u8(0)
        interfaceIndex = r.i32(4)
        state = State(rawValue: r.u16(8))
        flags = r.u8(10)
        rawAttributes = message.payload.dropFirst(12)
        let attributes = try Attribute.parseAll(rawAttributes)
        destination = attributes.first(1).flatMap { IPAddress(wire: $0.payload) }
        linkAddress = attributes.first(2).map { LinkAddress(Array($0.payload)) }
        vni = attributes.first(7)?.u32
        masterIndex = attributes.first(9)?.i32
    }
}

/// RTM_NEWNSID: the id this namespace gives another (NETNSA_NSID), -1 when none is assigned.
public struct NamespaceID: Sendable, Equatable {
    public var nsid: Int32

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.payload.count >= 4 else { throw NetlinkDecodeError("rtgenmsg shorter than 4 bytes", offset: 0) }
        nsid = try Attribute.parseAll(message.payload.dropFirst(4)).first(1)?.i32 ?? -1
    }
}

import NetAddress

/// A route, as RTM_NEWROUTE describes it (struct rtmsg + RTA_*), from a dump or a lookup.
public struct Route: Sendable, Equatable {
    public var family: UInt8
    public var destinationLength: UInt8
    public var table: UInt32
    public var protocolID: UInt8
    public var scope: UInt8
    /// RTN_*: 1 unicast, 2 local, 3 broadcast, 6 blackhole, 7 unreachable, 8 prohibit.
    public var type: UInt8
    public var flags: UInt32
    public var destination: IPAddress?
    public var source: IPAddress?
    public var gateway: IPAddress?
    public var outputIndex: Int32?
    public var inputIndex: Int32?
    public var preferredSource: IPAddress?
    public var priority: UInt32?
    /// RTAX_MTU from RTA_METRICS: the route MTU (a cached PMTU on a lookup).
    public var mtu: UInt32?
    /// Next hops of a multipath route.
    public var nextHops: [NextHop]

    public struct NextHop: Sendable, Equatable {
        public var gateway: IPAddress?
        public var outputIndex: Int32
    }
    /// The attributes exactly as received (unknown ones included), decoded on demand.
    public var rawAttributes: ArraySlice<UInt8>
    public var attributes: [Attribute] { (try? Attribute.parseAll(rawAttributes)) ?? [] }

    public static let mainTable: UInt32 = 254
    public static let localTable: UInt32 = 255

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.payload.count >= 12 else { throw NetlinkDecodeError("rtmsg shorter than 12 bytes", offset: 0) }
        let r = WireReader(message.payload)
        family = r.u8(0)
        destinationLength = r.u8(1)
        protocolID = r.u8(5)
        scope = r.u8(6)
        type = r.u8(7)
        flags = r.u32(8)
        rawAttributes = message.payload.dropFirst(12)
        let attributes = try Attribute.parseAll(rawAttributes)
        table = attributes.first(15)?.u32 ?? UInt32(r.u8(4))
        destination = attributes.first(1).flatMap { IPAddress(wire: $0.payload) }
        source = attributes.first(2).flatMap { IPAddress(wire: $0.payload) }
        inputIndex = attributes.first(3)?.i32
        outputIndex = attributes.first(4)?.i32
        gateway = attributes.first(5).flatMap { IPAddress(wire: $0.payload) }
        priority = attributes.first(6)?.u32
        preferredSource = attributes.first(7).flatMap { IPAddress(wire: $0.payload) }
        mtu = try attributes.first(8)?.nested().first(2)?.u32
        nextHops = []
        if let multipath = attributes.first(9) {
            // struct rtnexthop { len u16, flags u8, hops u8, ifindex i32 } + attributes
            var offset = 0
            let bytes = Array(multipath.payload)
            while offset + 8 <= bytes.count {
                let nr = WireReader(bytes[offset...])
                let length = Int(nr.u16(0))
                guard length >= 8, offset + length <= bytes.count else {
                    throw NetlinkDecodeError("rtnexthop length \(length) out of range", offset: offset)
                }
                let hopAttributes = try Attribute.parseAll(bytes[(offset + 8)..<(offset + length)])
                nextHops.append(NextHop(gateway: hopAttributes.first(5).flatMap { IPAddress(wire: $0.payload) }, outputIndex: nr.i32(4)))
                offset += align4(length)
            }
        }
    }

    public static func == (a: Route, b: Route) -> Bool { a.rawAttributes == b.rawAttributes && a.flags == b.flags && a.type == b.type }

    /// "default", or "10.244.2.0/24", as ip prints it.
    public var destinationText: String {
        guard let destination, destinationLength > 0 else { return "default" }
        let full = family == 2 ? 32 : 128
        return Int(destinationLength) == full ? "\(destination)" : "\(destination)/\(destinationLength)"
    }
}

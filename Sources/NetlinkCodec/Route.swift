import NetAddress

/// A route, as RTM_NEWROUTE describes it (struct rtmsg + RTA_*), from a dump or a lookup.
public struct Route: Sendable, Equatable {
    public var family: AddressFamily
    public var destinationLength: UInt8
    public var table: RouteTable
    /// Who installed it (RTPROT_*).
    public var origin: RouteProtocol
    public var scope: RouteScope
    public var type: RouteType
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

    /// Seconds until the kernel removes the route (RTA_CACHEINFO's rta_expires, in USER_HZ
    /// hundredths): RA-learned IPv6 routes expire unless a new advertisement renews them. nil:
    /// the route does not expire.
    public var expiresSeconds: Int? {
        guard let info = attributes.attribute(RTA.cacheInfo), info.payload.count >= 12 else { return nil }
        let hundredths = WireReader(info.payload).i32(8)
        return hundredths > 0 ? Int(hundredths) / 100 : nil
    }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        let header = try RouteHeader(parsing: message.payload)
        family = AddressFamily(rawValue: header.family)
        destinationLength = header.destinationLength
        origin = RouteProtocol(rawValue: header.protocolID)
        scope = RouteScope(rawValue: header.scope)
        type = RouteType(rawValue: header.type)
        flags = header.flags
        rawAttributes = message.payload.dropFirst(RouteHeader.size)
        var table: UInt32? = nil, destination: IPAddress? = nil, source: IPAddress? = nil, inputIndex: Int32? = nil
        var outputIndex: Int32? = nil, gateway: IPAddress? = nil, priority: UInt32? = nil, preferredSource: IPAddress? = nil
        var metrics: ArraySlice<UInt8>? = nil, multipathPayload: ArraySlice<UInt8>? = nil
        func u32(_ p: ArraySlice<UInt8>) -> UInt32? { p.count >= 4 ? WireReader(p).u32(0) : nil }
        // The first of each type counts, as iproute2's parse_rtattr keeps it.
        try Attribute.forEach(in: rawAttributes) { type, payload in
            switch RTA(rawValue: type) {
            case .destination: destination = destination ?? IPAddress(wire: payload)
            case .source: source = source ?? IPAddress(wire: payload)
            case .inputInterface: inputIndex = inputIndex ?? u32(payload).map { Int32(bitPattern: $0) }
            case .outputInterface: outputIndex = outputIndex ?? u32(payload).map { Int32(bitPattern: $0) }
            case .gateway: gateway = gateway ?? IPAddress(wire: payload)
            case .priority: priority = priority ?? u32(payload)
            case .preferredSource: preferredSource = preferredSource ?? IPAddress(wire: payload)
            case .metrics: metrics = metrics ?? payload
            case .multipath: multipathPayload = multipathPayload ?? payload
            case .table: table = table ?? u32(payload)
            case .mark, .cacheInfo, nil: break
            }
        }
        self.table = RouteTable(rawValue: table ?? UInt32(header.table))
        self.destination = destination
        self.source = source
        self.inputIndex = inputIndex
        self.outputIndex = outputIndex
        self.gateway = gateway
        self.priority = priority
        self.preferredSource = preferredSource
        var mtu: UInt32? = nil
        if let metrics {
            try Attribute.forEach(in: metrics) { type, payload in if type == RTAX.mtu.rawValue, mtu == nil { mtu = u32(payload) } }
        }
        self.mtu = mtu
        nextHops = []
        if let multipathPayload {
            // struct rtnexthop { len u16, flags u8, hops u8, ifindex i32 } + attributes
            var offset = 0
            let bytes = Array(multipathPayload)
            while offset + 8 <= bytes.count {
                let nr = WireReader(bytes[offset...])
                let length = Int(nr.u16(0))
                guard length >= 8, offset + length <= bytes.count else {
                    throw NetlinkDecodeError("rtnexthop length \(length) out of range", offset: offset)
                }
                let hopAttributes = try Attribute.parseAll(bytes[(offset + 8)..<(offset + length)])
                nextHops.append(
                    NextHop(gateway: hopAttributes.attribute(RTA.gateway).flatMap { IPAddress(wire: $0.payload) }, outputIndex: nr.i32(4)))
                offset += align4(length)
            }
        }
    }

    public static func == (a: Route, b: Route) -> Bool { a.rawAttributes == b.rawAttributes && a.flags == b.flags && a.type == b.type }

    /// "default", or "10.244.2.0/24", as ip prints it.
    public var destinationText: String {
        guard let destination, destinationLength > 0 else { return "default" }
        let full = family == .inet ? 32 : 128
        return Int(destinationLength) == full ? "\(destination)" : "\(destination)/\(destinationLength)"
    }
}

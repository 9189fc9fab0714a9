/// One netlink attribute (struct nlattr / rtattr): a type and its payload. Unknown attributes
/// are kept as they are, so nothing the kernel said is lost.
public struct Attribute: Sendable, Equatable {
    /// The type without the NLA_F_NESTED and NLA_F_NET_BYTEORDER bits.
    public var type: UInt16
    public var isNested: Bool
    /// A slice of the message it came in (no copy).
    public var payload: ArraySlice<UInt8>

    public init(type: UInt16, isNested: Bool = false, payload: ArraySlice<UInt8>) {
        self.type = type
        self.isNested = isNested
        self.payload = payload
    }

    /// The attributes packed in `bytes` (RTA_NEXT), each aligned to 4 bytes.
    public static func parseAll(_ bytes: ArraySlice<UInt8>) throws(NetlinkDecodeError) -> [Attribute] {
        var attributes: [Attribute] = []
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let r = WireReader(bytes[offset...])
            let length = Int(r.u16(0))
            let rawType = r.u16(2)
            guard length >= 4 else { throw NetlinkDecodeError("attribute length \(length) shorter than its header", offset: offset) }
            guard offset + length <= bytes.endIndex else {
                throw NetlinkDecodeError("attribute of type \(rawType & 0x3FFF) runs past its message", offset: offset)
            }
            attributes.append(
                Attribute(
                    type: rawType & 0x3FFF, isNested: rawType & 0x8000 != 0,
                    payload: bytes[(offset + 4)..<(offset + length)]))
            offset += align4(length)
        }
        return attributes
    }

    /// Calls `body` with each attribute's type and payload, without building an array: for
    /// messages decoded by the ten thousand.
    @inlinable
    public static func forEach(
        in bytes: ArraySlice<UInt8>, _ body: (UInt16, ArraySlice<UInt8>) throws(NetlinkDecodeError) -> Void
    ) throws(NetlinkDecodeError) {
        var offset = bytes.startIndex
        while offset + 4 <= bytes.endIndex {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let rawType = UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8
            guard length >= 4 else { throw NetlinkDecodeError("attribute length \(length) shorter than its header", offset: offset) }
            guard offset + length <= bytes.endIndex else {
                throw NetlinkDecodeError("attribute of type \(rawType & 0x3FFF) runs past its message", offset: offset)
            }
            try body(rawType & 0x3FFF, bytes[(offset + 4)..<(offset + length)])
            offset += (length + 3) & ~3
        }
    }

    /// The attributes nested in this one.
    public func nested() throws(NetlinkDecodeError) -> [Attribute] { try Attribute.parseAll(payload) }

    /// A NUL-terminated string payload.
    public var string: String { String(decoding: payload.prefix(while: { $0 != 0 }), as: UTF8.self) }
    public var u8: UInt8? { payload.first }
    public var u16: UInt16? { payload.count >= 2 ? WireReader(payload).u16(0) : nil }
    public var u32: UInt32? { payload.count >= 4 ? WireReader(payload).u32(0) : nil }
    public var i32: Int32? { payload.count >= 4 ? WireReader(payload).i32(0) : nil }
    public var u16BigEndian: UInt16? { payload.count >= 2 ? WireReader(payload).u16BigEndian(0) : nil }
}

extension Array where Element == Attribute {
    /// The first attribute of a type, as iproute2's parse_rtattr keeps it (the kernel sends each
    /// once; a repeat is ignored).
    public func attribute(_ type: some AttributeType) -> Attribute? { first { $0.type == type.rawValue } }
}

/// Reads fixed-size host-order integers from netlink bytes. Netlink is in host byte order
/// (little-endian here); a few payloads (tunnel ports) are in network order and say so.
struct WireReader {
    let bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    func u8(_ offset: Int) -> UInt8 { bytes[bytes.startIndex + offset] }

    func u16(_ offset: Int) -> UInt16 {
        UInt16(u8(offset)) | UInt16(u8(offset + 1)) << 8
    }

    func u32(_ offset: Int) -> UInt32 {
        UInt32(u16(offset)) | UInt32(u16(offset + 2)) << 16
    }

    func i32(_ offset: Int) -> Int32 { Int32(bitPattern: u32(offset)) }

    func u64(_ offset: Int) -> UInt64 { UInt64(u32(offset)) | UInt64(u32(offset + 4)) << 32 }

    func u16BigEndian(_ offset: Int) -> UInt16 { UInt16(u8(offset)) << 8 | UInt16(u8(offset + 1)) }
}

/// Appends host-order integers and aligned attributes.
public struct WireWriter: Sendable {
    public internal(set) var bytes: [UInt8] = []

    public init() {}

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v & 0xFFFF)); u16(UInt16(v >> 16)) }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }

    mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// An attribute: length, type, payload, padded to 4 bytes.
    mutating func attribute(_ type: UInt16, _ payload: [UInt8]) {
        u16(UInt16(4 + payload.count))
        u16(type)
        bytes += payload
        pad()
    }

    mutating func attribute(_ type: UInt16, u32 value: UInt32) {
        var w = WireWriter()
        w.u32(value)
        attribute(type, w.bytes)
    }

    mutating func attribute(_ type: some AttributeType, _ payload: [UInt8]) { attribute(type.rawValue, payload) }
    mutating func attribute(_ type: some AttributeType, u32 value: UInt32) { attribute(type.rawValue, u32: value) }
}

/// Netlink's 4-byte alignment (NLMSG_ALIGN, NLA_ALIGN).
@inline(__always) func align4(_ n: Int) -> Int { (n + 3) & ~3 }

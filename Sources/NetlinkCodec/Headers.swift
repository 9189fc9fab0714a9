/// The fixed part of each rtnetlink message, parsed and emitted field by field (as
/// netlink-packet-route's headers): requests are built from these, never byte by byte.

/// struct ifinfomsg (16 bytes): a link message's header.
public struct LinkHeader: Sendable, Equatable {
    public static let size = 16
    public var family: UInt8 = 0
    /// ARPHRD_*.
    public var hardwareType: UInt16 = 0
    public var index: Int32 = 0
    /// IFF_*.
    public var flags: UInt32 = 0
    public var change: UInt32 = 0

    public init(family: UInt8 = 0) { self.family = family }

    public init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw NetlinkDecodeError("ifinfomsg shorter than \(Self.size) bytes", offset: 0) }
        let r = WireReader(payload)
        family = r.u8(0)
        hardwareType = r.u16(2)
        index = r.i32(4)
        flags = r.u32(8)
        change = r.u32(12)
    }

    public func emit(into w: inout WireWriter) {
        w.u8(family); w.u8(0); w.u16(hardwareType); w.i32(index); w.u32(flags); w.u32(change)
    }
}

/// struct ifaddrmsg (8 bytes): an address message's header.
public struct AddressHeader: Sendable, Equatable {
    public static let size = 8
    public var family: UInt8 = 0
    public var prefixLength: UInt8 = 0
    public var flags: UInt8 = 0
    public var scope: UInt8 = 0
    public var index: Int32 = 0

    public init(family: UInt8 = 0) { self.family = family }

    public init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw NetlinkDecodeError("ifaddrmsg shorter than \(Self.size) bytes", offset: 0) }
        let r = WireReader(payload)
        family = r.u8(0)
        prefixLength = r.u8(1)
        flags = r.u8(2)
        scope = r.u8(3)
        index = r.i32(4)
    }

    public func emit(into w: inout WireWriter) {
        w.u8(family); w.u8(prefixLength); w.u8(flags); w.u8(scope); w.i32(index)
    }
}

/// struct rtmsg (12 bytes): a route message's header.
public struct RouteHeader: Sendable, Equatable {
    public static let size = 12
    public var family: UInt8 = 0
    public var destinationLength: UInt8 = 0
    public var sourceLength: UInt8 = 0
    public var tos: UInt8 = 0
    /// The table when it fits in a byte (RTA_TABLE carries it always).
    public var table: UInt8 = 0
    public var protocolID: UInt8 = 0
    public var scope: UInt8 = 0
    /// RTN_*.
    public var type: UInt8 = 0
    /// RTM_F_*.
    public var flags: UInt32 = 0

    public init(family: UInt8 = 0) { self.family = family }

    public init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw NetlinkDecodeError("rtmsg shorter than \(Self.size) bytes", offset: 0) }
        let r = WireReader(payload)
        family = r.u8(0)
        destinationLength = r.u8(1)
        sourceLength = r.u8(2)
        tos = r.u8(3)
        table = r.u8(4)
        protocolID = r.u8(5)
        scope = r.u8(6)
        type = r.u8(7)
        flags = r.u32(8)
    }

    public func emit(into w: inout WireWriter) {
        w.u8(family); w.u8(destinationLength); w.u8(sourceLength); w.u8(tos)
        w.u8(table); w.u8(protocolID); w.u8(scope); w.u8(type); w.u32(flags)
    }
}

/// struct ndmsg (12 bytes): a neighbour message's header.
public struct NeighborHeader: Sendable, Equatable {
    public static let size = 12
    public var family: UInt8 = 0
    public var index: Int32 = 0
    /// NUD_*.
    public var state: UInt16 = 0
    /// NTF_*.
    public var flags: UInt8 = 0
    public var type: UInt8 = 0

    public init(family: UInt8 = 0) { self.family = family }

    public init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw NetlinkDecodeError("ndmsg shorter than \(Self.size) bytes", offset: 0) }
        let r = WireReader(payload)
        family = r.u8(0)
        index = r.i32(4)
        state = r.u16(8)
        flags = r.u8(10)
        type = r.u8(11)
    }

    public func emit(into w: inout WireWriter) {
        w.u8(family); w.u8(0); w.u16(0); w.i32(index); w.u16(state); w.u8(flags); w.u8(type)
    }
}

/// struct rtgenmsg, padded to 4 bytes: the header of requests that carry only a family.
public struct GenericHeader: Sendable, Equatable {
    public static let size = 4
    public var family: UInt8 = 0

    public init(family: UInt8 = 0) { self.family = family }

    public init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw NetlinkDecodeError("rtgenmsg shorter than \(Self.size) bytes", offset: 0) }
        family = payload[payload.startIndex]
    }

    public func emit(into w: inout WireWriter) {
        w.u8(family); w.pad()
    }
}

/// A message header: parsed from the front of a payload, emitted as the kernel lays it out.
public protocol MessageHeader {
    static var size: Int { get }
    init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError)
    func emit(into w: inout WireWriter)
}

extension MessageHeader {
    /// The header's bytes, as `emit` writes them.
    public var bytes: [UInt8] {
        var w = WireWriter()
        emit(into: &w)
        return w.bytes
    }
}

extension LinkHeader: MessageHeader {}
extension AddressHeader: MessageHeader {}
extension RouteHeader: MessageHeader {}
extension NeighborHeader: MessageHeader {}
extension GenericHeader: MessageHeader {}

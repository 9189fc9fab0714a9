/// Why bytes are not valid netlink: truncated or inconsistent lengths.
public struct NetlinkDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "malformed netlink message at byte \(offset): \(message)" }
}

/// nlmsg_type values netdoctor sends or reads (linux/netlink.h, linux/rtnetlink.h).
public struct MessageType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let noop = MessageType(rawValue: 1)
    public static let error = MessageType(rawValue: 2)
    public static let done = MessageType(rawValue: 3)
    public static let overrun = MessageType(rawValue: 4)
    public static let newLink = MessageType(rawValue: 16)
    public static let getLink = MessageType(rawValue: 18)
    public static let newAddress = MessageType(rawValue: 20)
    public static let getAddress = MessageType(rawValue: 22)
    public static let newRoute = MessageType(rawValue: 24)
    public static let getRoute = MessageType(rawValue: 26)
    public static let newNeighbor = MessageType(rawValue: 28)
    public static let getNeighbor = MessageType(rawValue: 30)
    public static let newNeighborTable = MessageType(rawValue: 64)
    public static let getNeighborTable = MessageType(rawValue: 66)
    public static let newNetconf = MessageType(rawValue: 80)
    public static let getNetconf = MessageType(rawValue: 82)
    public static let newNSID = MessageType(rawValue: 88)
    public static let getNSID = MessageType(rawValue: 90)

    public var description: String {
        switch self {
        case .error: "NLMSG_ERROR"
        case .done: "NLMSG_DONE"
        case .newLink: "RTM_NEWLINK"
        case .newAddress: "RTM_NEWADDR"
        case .newRoute: "RTM_NEWROUTE"
        case .newNeighbor: "RTM_NEWNEIGH"
        case .newNSID: "RTM_NEWNSID"
        case .newNetconf: "RTM_NEWNETCONF"
        default: "type \(rawValue)"
        }
    }
}

/// nlmsg_flags.
public struct MessageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let request = MessageFlags(rawValue: 0x01)
    public static let multipart = MessageFlags(rawValue: 0x02)
    public static let ack = MessageFlags(rawValue: 0x04)
    /// The dump changed while it was taken: retry it.
    public static let dumpInterrupted = MessageFlags(rawValue: 0x10)
    public static let root = MessageFlags(rawValue: 0x100)
    public static let match = MessageFlags(rawValue: 0x200)
    public static let dump: MessageFlags = [.root, .match]
    /// On NLMSG_ERROR: the original request was capped (NLM_F_CAPPED).
    public static let capped = MessageFlags(rawValue: 0x100)
    /// On NLMSG_ERROR: extended-ack attributes follow (NLM_F_ACK_TLVS).
    public static let ackTLVs = MessageFlags(rawValue: 0x200)
}

/// One netlink message: the 16-byte header and its payload.
public struct NetlinkMessage: Sendable, Equatable {
    public var type: MessageType
    public var flags: MessageFlags
    public var sequence: UInt32
    public var portID: UInt32
    /// A slice of the datagram it came in: decoding copies nothing until a value is made.
    public var payload: ArraySlice<UInt8>

    public init(type: MessageType, flags: MessageFlags, sequence: UInt32 = 0, portID: UInt32 = 0, payload: [UInt8] = []) {
        self.init(type: type, flags: flags, sequence: sequence, portID: portID, slice: payload[...])
    }

    init(type: MessageType, flags: MessageFlags, sequence: UInt32, portID: UInt32, slice: ArraySlice<UInt8>) {
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
        self.payload = slice
    }

    public static let headerSize = 16

    /// The message as bytes, header included.
    public var encoded: [UInt8] {
        var w = WireWriter()
        w.u32(UInt32(Self.headerSize + payload.count))
        w.u16(type.rawValue)
        w.u16(flags.rawValue)
        w.u32(sequence)
        w.u32(portID)
        w.bytes += payload
        w.pad()
        return w.bytes
    }

    /// Every message in a datagram, as the kernel packs them (NLMSG_NEXT).
    public static func parseAll(_ bytes: [UInt8]) throws(NetlinkDecodeError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset + headerSize <= bytes.count {
            let r = WireReader(bytes[offset...])
            let length = Int(r.u32(0))
            guard length >= headerSize else { throw NetlinkDecodeError("length \(length) shorter than the header", offset: offset) }
            guard offset + length <= bytes.count else {
                throw NetlinkDecodeError("length \(length) runs past the \(bytes.count)-byte buffer", offset: offset)
            }
            messages.append(
                NetlinkMessage(
                    type: MessageType(rawValue: r.u16(4)), flags: MessageFlags(rawValue: r.u16(6)),
                    sequence: r.u32(8), portID: r.u32(12),
                    slice: bytes[(offset + headerSize)..<(offset + length)]))
            offset += align4(length)
        }
        if offset < bytes.count && bytes.count - offset >= 4 && bytes[offset...].contains(where: { $0 != 0 }) {
            throw NetlinkDecodeError("\(bytes.count - offset) trailing bytes", offset: offset)
        }
        return messages
    }
}

/// An NLMSG_ERROR: errno 0 is an acknowledgement; otherwise the kernel's error, with the
/// extended-ack message when NETLINK_EXT_ACK is on.
public struct NetlinkErrorMessage: Sendable, Equatable {
    /// Positive errno (the wire carries it negated); 0 for an ack.
    public var errno: Int32
    public var extAckMessage: String?
    /// Byte offset of the offending attribute in the request, when the kernel says.
    public var extAckOffset: UInt32?

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.payload.count >= 4 else { throw NetlinkDecodeError("NLMSG_ERROR without errno", offset: 0) }
        let r = WireReader(message.payload)
        // The kernel sends -errno; Int32.min, which no errno is, has no negation (a hostile or
        // corrupt message): read as the largest value, never a trap.
        let negated = r.i32(0)
        errno = negated == .min ? .max : -negated
        guard message.flags.contains(.ackTLVs) else { return }
        // The original request follows: its header only when capped, else all of it.
        var skip = 4 + NetlinkMessage.headerSize
        if !message.flags.contains(.capped), message.payload.count >= 4 + NetlinkMessage.headerSize {
            skip = 4 + align4(Int(r.u32(4)))
        }
        guard skip <= message.payload.count else { return }
        for attribute in try Attribute.parseAll(message.payload.dropFirst(skip)) {
            switch NLMSGERR(rawValue: attribute.type) {
            case .message: extAckMessage = attribute.string
            case .offset: extAckOffset = attribute.u32
            case nil: break
            }
        }
    }
}

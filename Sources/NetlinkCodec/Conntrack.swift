import NetAddress

/// ctnetlink (NETLINK_NETFILTER, subsystem NFNL_SUBSYS_CTNETLINK): conntrack entries looked up
/// or dumped, and the per-CPU statistics `conntrack -S` prints. Bytes in, values out; the socket
/// is the route socket's (NetlinkSocket(protocol: NETLINK_NETFILTER)). Integers inside ctnetlink
/// attributes are in network order (nla_put_be32, nla_put_be16), unlike rtnetlink's.
public enum Conntrack {
    /// IPCTNL_MSG_CT_GET and the IPCTNL_MSG_CT_NEW messages that answer it.
    public static let get = MessageType(rawValue: 1 << 8 | 1)
    public static let new = MessageType(rawValue: 1 << 8 | 0)
    /// IPCTNL_MSG_CT_GET_STATS_CPU: one message per possible CPU.
    public static let getStatsCPU = MessageType(rawValue: 1 << 8 | 4)

    /// enum ctattr_type.
    public enum CTA: UInt16, AttributeType {
        case tupleOriginal = 1, tupleReply = 2, status = 3, protocolInfo = 4, timeout = 7, mark = 8, id = 12, zone = 18, labels = 22
    }
    /// enum ctattr_tuple, ctattr_ip, ctattr_l4proto.
    enum TupleAttribute: UInt16, AttributeType { case ip = 1, proto = 2, zone = 3 }
    enum IPAttribute: UInt16, AttributeType { case v4Source = 1, v4Destination = 2, v6Source = 3, v6Destination = 4 }
    enum ProtoAttribute: UInt16, AttributeType {
        case number = 1, sourcePort = 2, destinationPort = 3, icmpID = 4, icmpType = 5, icmpCode = 6, icmpv6ID = 7, icmpv6Type = 8,
            icmpv6Code = 9
    }

    /// enum ip_conntrack_status bits.
    public enum Status {
        public static let seenReply: UInt32 = 1 << 1
        public static let assured: UInt32 = 1 << 2
        public static let confirmed: UInt32 = 1 << 3
        public static let sourceNAT: UInt32 = 1 << 4
        public static let destinationNAT: UInt32 = 1 << 5
    }

    /// One direction of a connection: addresses, protocol, ports (or the ICMP id as the port).
    public struct Tuple: Sendable, Hashable, CustomStringConvertible {
        public var source: IPAddress
        public var destination: IPAddress
        /// IPPROTO_*: 6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6.
        public var proto: UInt8
        public var sourcePort: UInt16?
        public var destinationPort: UInt16?

        public init(source: IPAddress, destination: IPAddress, proto: UInt8, sourcePort: UInt16? = nil, destinationPort: UInt16? = nil) {
            self.source = source
            self.destination = destination
            self.proto = proto
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
        }

        public var description: String {
            let name = [6: "tcp", 17: "udp", 132: "sctp", 1: "icmp", 58: "icmpv6"][Int(proto)] ?? "proto \(proto)"
            return
                "\(name) src=\(source)\(sourcePort.map { " sport=\($0)" } ?? "") dst=\(destination)\(destinationPort.map { " dport=\($0)" } ?? "")"
        }
    }

    /// A conntrack entry: the original direction, the reply direction the kernel expects (after
    /// NAT: a DNAT shows as a reply source that is not the original destination).
    public struct Entry: Sendable, Hashable {
        public var original: Tuple
        public var reply: Tuple
        public var status: UInt32
        public var timeoutSeconds: UInt32?
        public var mark: UInt32?
        public var zone: UInt16?
        public var id: UInt32?

        public init(
            original: Tuple, reply: Tuple, status: UInt32, timeoutSeconds: UInt32? = nil, mark: UInt32? = nil,
            zone: UInt16? = nil, id: UInt32? = nil
        ) {
            self.original = original
            self.reply = reply
            self.status = status
            self.timeoutSeconds = timeoutSeconds
            self.mark = mark
            self.zone = zone
            self.id = id
        }

        public var destinationTranslated: Bool { status & Status.destinationNAT != 0 }
        public var sourceTranslated: Bool { status & Status.sourceNAT != 0 }
        public var seenReply: Bool { status & Status.seenReply != 0 }

        /// `conntrack -L`'s words for the entry.
        public var summary: String {
            "\(original) → reply \(reply)\(seenReply ? "" : " [UNREPLIED]")\(destinationTranslated ? " [DNAT]" : "")\(sourceTranslated ? " [SNAT]" : "")"
        }
    }

    /// The entry whose original direction is `tuple` (an exact lookup, as `conntrack -G`).
    public static func lookup(_ tuple: Tuple) -> NetlinkMessage {
        var w = WireWriter()
        GenericHeader(family: family(tuple.source)).emit(into: &w)
        w.attribute(CTA.tupleOriginal.rawValue | nested, encode(tuple))
        return NetlinkMessage(type: get, flags: [.request], payload: w.bytes)
    }

    /// Every entry of one family (AF_INET or AF_INET6), as `conntrack -L -f ipv4|ipv6`.
    public static func dump(ipv6: Bool = false) -> NetlinkMessage {
        NetlinkMessage(type: get, flags: [.request, .dump], payload: GenericHeader(family: ipv6 ? 10 : 2).bytes)
    }

    /// The per-CPU counters, as `conntrack -S`.
    public static var dumpStatistics: NetlinkMessage {
        NetlinkMessage(type: getStatsCPU, flags: [.request, .dump], payload: GenericHeader().bytes)
    }

    /// An IPCTNL_MSG_CT_NEW message as an entry; nil for other messages or one without both tuples.
    public static func entry(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> Entry? {
        guard message.type == new, message.payload.count >= GenericHeader.size else { return nil }
        let attributes = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size))
        guard let original = try attributes.attribute(CTA.tupleOriginal).flatMap({ a throws(NetlinkDecodeError) in try tuple(a) }),
            let reply = try attributes.attribute(CTA.tupleReply).flatMap({ a throws(NetlinkDecodeError) in try tuple(a) })
        else { return nil }
        return Entry(
            original: original, reply: reply, status: attributes.attribute(CTA.status)?.u32BigEndian ?? 0,
            timeoutSeconds: attributes.attribute(CTA.timeout)?.u32BigEndian, mark: attributes.attribute(CTA.mark)?.u32BigEndian,
            zone: attributes.attribute(CTA.zone)?.u16BigEndian, id: attributes.attribute(CTA.id)?.u32BigEndian)
    }

    /// One CPU's counters (enum ctattr_stats_cpu), by the names `conntrack -S` prints.
    public struct CPUStatistics: Sendable, Equatable {
        public var cpu: UInt16
        public var counters: [String: UInt32]
        public subscript(name: String) -> UInt32 { counters[name] ?? 0 }
    }

    static let statisticNames: [UInt16: String] = [
        2: "found", 4: "invalid", 6: "delete", 7: "delete_list", 8: "insert", 9: "insert_failed", 10: "drop",
        11: "early_drop", 12: "error", 13: "search_restart", 14: "clash_resolve", 15: "chaintoolong",
    ]

    public static func statistics(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> CPUStatistics? {
        guard message.type == getStatsCPU || message.type == MessageType(rawValue: 1 << 8 | 4), message.payload.count >= GenericHeader.size
        else { return nil }
        let start = message.payload.startIndex
        // nfgenmsg's res_id (bytes 2-3, network order) is the CPU.
        let cpu = UInt16(message.payload[start + 2]) << 8 | UInt16(message.payload[start + 3])
        var counters: [String: UInt32] = [:]
        try Attribute.forEach(in: message.payload.dropFirst(GenericHeader.size)) {
            (type: UInt16, payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) in
            if let name = statisticNames[type], payload.count >= 4 { counters[name] = bigEndian32(payload) }
        }
        return CPUStatistics(cpu: cpu, counters: counters)
    }

    // MARK: encoding and decoding tuples

    static let nested: UInt16 = 0x8000

    static func family(_ address: IPAddress) -> UInt8 { address.isIPv4 ? 2 : 10 }

    static func encode(_ tuple: Tuple) -> [UInt8] {
        var ip = WireWriter()
        ip.attribute(tuple.source.isIPv4 ? IPAttribute.v4Source.rawValue : IPAttribute.v6Source.rawValue, tuple.source.bytes)
        ip.attribute(
            tuple.destination.isIPv4 ? IPAttribute.v4Destination.rawValue : IPAttribute.v6Destination.rawValue, tuple.destination.bytes)
        var proto = WireWriter()
        proto.attribute(ProtoAttribute.number.rawValue, [tuple.proto])
        if tuple.proto == 1 || tuple.proto == 58 {
            // ICMP: the echo id stands in for the ports; type 8/128 (echo request), code 0.
            let v6 = tuple.proto == 58
            if let id = tuple.sourcePort {
                proto.attribute(v6 ? ProtoAttribute.icmpv6ID.rawValue : ProtoAttribute.icmpID.rawValue, bigEndian(id))
            }
            proto.attribute(v6 ? ProtoAttribute.icmpv6Type.rawValue : ProtoAttribute.icmpType.rawValue, [v6 ? 128 : 8])
            proto.attribute(v6 ? ProtoAttribute.icmpv6Code.rawValue : ProtoAttribute.icmpCode.rawValue, [0])
        } else {
            if let port = tuple.sourcePort { proto.attribute(ProtoAttribute.sourcePort.rawValue, bigEndian(port)) }
            if let port = tuple.destinationPort { proto.attribute(ProtoAttribute.destinationPort.rawValue, bigEndian(port)) }
        }
        var w = WireWriter()
        w.attribute(TupleAttribute.ip.rawValue | nested, ip.bytes)
        w.attribute(TupleAttribute.proto.rawValue | nested, proto.bytes)
        return w.bytes
    }

    static func tuple(_ attribute: Attribute) throws(NetlinkDecodeError) -> Tuple? {
        let parts = try attribute.nested()
        guard let ip = try parts.attribute(TupleAttribute.ip)?.nested(), let proto = try parts.attribute(TupleAttribute.proto)?.nested()
        else { return nil }
        let source = ip.attribute(IPAttribute.v4Source) ?? ip.attribute(IPAttribute.v6Source)
        let destination = ip.attribute(IPAttribute.v4Destination) ?? ip.attribute(IPAttribute.v6Destination)
        guard let source = source.flatMap({ IPAddress(wire: $0.payload) }),
            let destination = destination.flatMap({ IPAddress(wire: $0.payload) }),
            let number = proto.attribute(ProtoAttribute.number)?.u8
        else { return nil }
        let id = (proto.attribute(ProtoAttribute.icmpID) ?? proto.attribute(ProtoAttribute.icmpv6ID))?.u16BigEndian
        return Tuple(
            source: source, destination: destination, proto: number,
            sourcePort: proto.attribute(ProtoAttribute.sourcePort)?.u16BigEndian ?? id,
            destinationPort: proto.attribute(ProtoAttribute.destinationPort)?.u16BigEndian)
    }

    static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func bigEndian32(_ payload: ArraySlice<UInt8>) -> UInt32 {
        let s = payload.startIndex
        return UInt32(payload[s]) << 24 | UInt32(payload[s + 1]) << 16 | UInt32(payload[s + 2]) << 8 | UInt32(payload[s + 3])
    }
}

extension Attribute {
    /// A network-order u32 payload (ctnetlink's nla_put_be32).
    public var u32BigEndian: UInt32? { payload.count >= 4 ? Conntrack.bigEndian32(payload) : nil }
}

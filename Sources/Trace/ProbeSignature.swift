import Capture
import ConfigFormats
import NetAddress

/// How the probe's request and its reply look on the wire, so that every capture point (on this
/// node or, through its agent, on the remote one) can tell them from other traffic.
public struct ProbeSignature: Sendable, Equatable {
    public var proto: TraceProtocol
    public var source: IPAddress
    public var destination: IPAddress
    /// TCP and UDP: the destination port.
    public var port: UInt16?
    /// ICMP: the echo sequence number the probe socket used.
    public var echoSequence: UInt16?

    public init(proto: TraceProtocol, source: IPAddress, destination: IPAddress, port: UInt16?, echoSequence: UInt16?) {
        self.proto = proto
        self.source = source
        self.destination = destination
        self.port = port
        self.echoSequence = echoSequence
    }

    /// The port a probe of `proto` goes to: none for ICMP; the command insists on one for UDP
    /// (a library caller gets DNS's), and TCP defaults to HTTP's.
    static func port(for proto: TraceProtocol, given: UInt16?) -> UInt16? {
        proto == .icmp ? nil : given ?? (proto == .udp ? 53 : 80)
    }

    /// ICMP's types in the probe's family: echo request and reply, destination unreachable
    /// (ICMPv6: 128, 129 and 1; RFC 4443).
    var echoRequest: UInt8 { destination.isIPv4 ? 8 : 128 }
    var echoReply: UInt8 { destination.isIPv4 ? 0 : 129 }
    var unreachable: UInt8 { destination.isIPv4 ? 3 : 1 }

    public func isRequest(_ packet: PacketFields) -> Bool {
        guard packet.destination == destination else { return false }
        switch proto {
        case .icmp: return packet.icmpType == echoRequest && packet.echoSequence == echoSequence
        case .udp: return packet.ipProtocol == 17 && packet.destinationPort == port
        case .tcp: return packet.ipProtocol == 6 && packet.destinationPort == port && (packet.tcpFlags ?? 0) & 0x12 == 0x02
        }
    }

    /// The answer, a refusal (TCP reset, ICMP port unreachable) included.
    public func isReply(_ packet: PacketFields) -> Bool {
        guard packet.source == destination else { return false }
        switch proto {
        case .icmp: return packet.icmpType == echoReply && packet.echoSequence == echoSequence
        case .udp: return (packet.ipProtocol == 17 && packet.sourcePort == port) || packet.icmpType == unreachable
        case .tcp:
            let flags = packet.tcpFlags ?? 0
            return packet.ipProtocol == 6 && packet.sourcePort == port && (flags & 0x12 == 0x12 || flags & 0x04 != 0)
        }
    }

    /// What the capture filter must let through: the probe's protocol, ARP (ICMPv6 carries
    /// neighbour discovery), and VXLAN's UDP over either family.
    public var captureFilter: String {
        var filter = destination.isIPv4 ? "icmp or arp or udp port 8472 or udp port 4789" : "icmp6 or udp port 8472 or udp port 4789"
        if let port, proto != .icmp { filter += " or \(proto.rawValue) port \(port)" }
        return filter
    }

    public var json: ConfigValue {
        .fields([
            "protocol": .string(proto.rawValue), "source": .string(source.description), "destination": .string(destination.description),
            "port": .int(port.map(Int.init)), "echoSequence": .int(echoSequence.map(Int.init)),
        ])
    }

    public init?(json: ConfigValue) {
        guard let proto = json["protocol"]?.string.flatMap(TraceProtocol.init(rawValue:)),
            let source = json["source"]?.string.flatMap(IPAddress.parse),
            let destination = json["destination"]?.string.flatMap(IPAddress.parse)
        else { return nil }
        self.init(
            proto: proto, source: source, destination: destination,
            port: json["port"]?.int.flatMap(UInt16.init(exactly:)), echoSequence: json["echoSequence"]?.int.flatMap(UInt16.init(exactly:)))
    }
}

import NetAddress

/// What netdoctor reads of a captured frame: addresses, protocol, ICMP type and echo id, ports,
/// TCP flags, and for VXLAN the frame it carries. The live summary is written from it, and
/// the trace engine matches its probes against it.
public struct PacketFields: Sendable, Equatable {
    public enum Network: Sendable, Equatable { case ipv4, ipv6, arp, other(UInt16) }

    public var network: Network
    public var source: IPAddress?
    public var destination: IPAddress?
    /// IP protocol: 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6.
    public var ipProtocol: UInt8?
    public var isFragment = false
    public var icmpType: UInt8?
    public var icmpCode: UInt8?
    /// Echo identifier and sequence (ICMP and ICMPv6 echo).
    public var echoID: UInt16?
    public var echoSequence: UInt16?
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var tcpFlags: UInt8?
    /// ARP: operation and the addresses asked and told.
    public var arpOperation: UInt16?
    public var vxlanVNI: UInt32?
    /// For VXLAN: the encapsulated frame (indirect: a struct cannot hold itself).
    public var inner: [PacketFields] = []

    /// Parses a frame of the given link type (Ethernet, Linux cooked v1/v2, raw IP).
    public static func parse(_ bytes: ArraySlice<UInt8>, linkType: Int32) -> PacketFields? {
        let b = bytes
        switch linkType {
        case 1: return ethernet(b)
        case 113: return b.count >= 16 ? network(u16(b, 14), b.dropFirst(16)) : nil
        case 276: return b.count >= 20 ? network(u16(b, 0), b.dropFirst(20)) : nil
        case 12, 101, 14: return b.first.map { network($0 >> 4 == 6 ? 0x86DD : 0x0800, b) }
        default: return nil
        }
    }

    static func ethernet(_ b: ArraySlice<UInt8>) -> PacketFields? {
        guard b.count >= 14 else { return nil }
        var type = u16(b, 12)
        var payload = b.dropFirst(14)
        if type == 0x8100, payload.count >= 4 { type = u16(payload, 2); payload = payload.dropFirst(4) }
        return network(type, payload)
    }

    static func network(_ type: UInt16, _ p: ArraySlice<UInt8>) -> PacketFields {
        var f = PacketFields(network: .other(type))
        switch type {
        case 0x0800 where p.count >= 20:
            f.network = .ipv4
            let headerLength = Int(p[p.startIndex] & 0x0F) * 4
            f.ipProtocol = p[p.startIndex + 9]
            f.source = IPAddress(wire: p[(p.startIndex + 12)..<(p.startIndex + 16)])
            f.destination = IPAddress(wire: p[(p.startIndex + 16)..<(p.startIndex + 20)])
            f.isFragment = u16(p, 6) & 0x1FFF != 0
            if !f.isFragment { f.transport(p.dropFirst(headerLength)) }
        case 0x86DD where p.count >= 40:
            f.network = .ipv6
            f.ipProtocol = p[p.startIndex + 6]
            f.source = IPAddress(wire: p[(p.startIndex + 8)..<(p.startIndex + 24)])
            f.destination = IPAddress(wire: p[(p.startIndex + 24)..<(p.startIndex + 40)])
            f.transport(p.dropFirst(40))
        case 0x0806 where p.count >= 28:
            f.network = .arp
            f.arpOperation = u16(p, 6)
            f.source = IPAddress(wire: p[(p.startIndex + 14)..<(p.startIndex + 18)])
            f.destination = IPAddress(wire: p[(p.startIndex + 24)..<(p.startIndex + 28)])
        default:
            break
        }
        return f
    }

    mutating func transport(_ p: ArraySlice<UInt8>) {
        switch ipProtocol {
        case 1?, 58?:
            guard p.count >= 8 else { return }
            icmpType = p[p.startIndex]
            icmpCode = p[p.startIndex + 1]
            if [0, 8, 128, 129].contains(icmpType!) {
                echoID = Self.u16(p, 4)
                echoSequence = Self.u16(p, 6)
            }
        case 6?:
            guard p.count >= 14 else { return }
            sourcePort = Self.u16(p, 0)
            destinationPort = Self.u16(p, 2)
            tcpFlags = p[p.startIndex + 13]
        case 17?:
            guard p.count >= 8 else { return }
            sourcePort = Self.u16(p, 0)
            destinationPort = Self.u16(p, 2)
            if destinationPort == 8472 || destinationPort == 4789, p.count >= 16 {
                let v = p.dropFirst(8)
                vxlanVNI = UInt32(v[v.startIndex + 4]) << 16 | UInt32(v[v.startIndex + 5]) << 8 | UInt32(v[v.startIndex + 6])
                if let inner = Self.ethernet(v.dropFirst(8)) { self.inner = [inner] }
            }
        default:
            break
        }
    }

    /// The packet itself, or for VXLAN the one it carries.
    public var innermost: PacketFields { inner.first?.innermost ?? self }

    static func u16(_ b: ArraySlice<UInt8>, _ offset: Int) -> UInt16 {
        UInt16(b[b.startIndex + offset]) << 8 | UInt16(b[b.startIndex + offset + 1])
    }
}

/// One line about a packet, as tcpdump would say it, written from its parsed fields.
public enum PacketSummary {
    public static func describe(_ bytes: ArraySlice<UInt8>, linkType: Int32, length: Int) -> String {
        guard let fields = PacketFields.parse(bytes, linkType: linkType) else { return "link type \(linkType), length \(length)" }
        return "\(describe(fields)), length \(length)"
    }

    public static func describe(_ f: PacketFields) -> String {
        let src = f.source.map(\.description) ?? "?", dst = f.destination.map(\.description) ?? "?"
        switch f.network {
        case .arp:
            return f.arpOperation == 1 ? "ARP, who-has \(dst) tell \(src)" : "ARP, \(src) is-at, to \(dst)"
        case .other(let type):
            return "ethertype 0x\(String(type, radix: 16))"
        case .ipv4, .ipv6:
            if f.isFragment { return "\(src) > \(dst) IP fragment" }
            switch f.ipProtocol {
            case 1?, 58?:
                let echo = f.echoID.map { " id \($0) seq \(f.echoSequence ?? 0)" } ?? ""
                return "\(src) > \(dst) \(icmpName(f.icmpType ?? 0, f.icmpCode ?? 0, v6: f.ipProtocol == 58))\(echo)"
            case 6?:
                let flags = [(0x02, "S"), (0x10, "."), (0x01, "F"), (0x04, "R"), (0x08, "P")]
                    .filter { Int(f.tcpFlags ?? 0) & $0.0 != 0 }.map(\.1).joined()
                return "\(src).\(f.sourcePort ?? 0) > \(dst).\(f.destinationPort ?? 0) TCP [\(flags)]"
            case 17?:
                let base = "\(src).\(f.sourcePort ?? 0) > \(dst).\(f.destinationPort ?? 0)"
                if let vni = f.vxlanVNI { return "\(base) VXLAN vni \(vni): " + (f.inner.first.map(describe) ?? "?") }
                return "\(base) UDP"
            default:
                return "\(src) > \(dst) IP protocol \(f.ipProtocol ?? 0)"
            }
        }
    }

    static func icmpName(_ type: UInt8, _ code: UInt8, v6: Bool) -> String {
        if v6 {
            switch type {
            case 128: return "ICMPv6 echo request"
            case 129: return "ICMPv6 echo reply"
            case 2: return "ICMPv6 packet too big"
            case 135: return "ICMPv6 neighbor solicitation"
            case 136: return "ICMPv6 neighbor advertisement"
            default: return "ICMPv6 type \(type)"
            }
        }
        switch (type, code) {
        case (8, _): return "ICMP echo request"
        case (0, _): return "ICMP echo reply"
        case (3, 3): return "ICMP port unreachable"
        case (3, 4): return "ICMP fragmentation needed"
        case (3, _): return "ICMP unreachable code \(code)"
        case (11, _): return "ICMP time exceeded"
        default: return "ICMP type \(type) code \(code)"
        }
    }
}

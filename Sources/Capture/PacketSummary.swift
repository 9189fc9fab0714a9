/// One line about a packet, as tcpdump would say it: addresses, protocol, what kind, how long.
/// Decodes Ethernet, Linux cooked capture (the `any` device) and raw IP; ARP, IPv4, IPv6,
/// ICMP, ICMPv6, TCP, UDP, and VXLAN with the packet it carries.
public enum PacketSummary {
    public static func describe(_ bytes: [UInt8], linkType: Int32, length: Int) -> String {
        let b = bytes[...]
        let text: String
        switch linkType {
        case 1: text = ethernet(b)  // DLT_EN10MB
        case 113: text = b.count >= 16 ? network(u16(b, 14), b.dropFirst(16)) : "truncated cooked header"  // LINUX_SLL
        case 276: text = b.count >= 20 ? network(u16(b, 0), b.dropFirst(20)) : "truncated cooked header"  // LINUX_SLL2
        case 12, 101, 14: text = b.first.map { $0 >> 4 == 6 ? network(0x86DD, b) : network(0x0800, b) } ?? "empty"
        default: text = "link type \(linkType)"
        }
        return "\(text), length \(length)"
    }

    static func ethernet(_ b: ArraySlice<UInt8>) -> String {
        guard b.count >= 14 else { return "truncated Ethernet header" }
        var type = u16(b, 12)
        var payload = b.dropFirst(14)
        if type == 0x8100, payload.count >= 4 { type = u16(payload, 2); payload = payload.dropFirst(4) }  // 802.1Q
        return network(type, payload)
    }

    static func network(_ type: UInt16, _ p: ArraySlice<UInt8>) -> String {
        switch type {
        case 0x0800: return ipv4(p)
        case 0x86DD: return ipv6(p)
        case 0x0806: return arp(p)
        default: return "ethertype 0x\(String(type, radix: 16))"
        }
    }

    static func arp(_ p: ArraySlice<UInt8>) -> String {
        guard p.count >= 28 else { return "ARP, truncated" }
        let op = u16(p, 6)
        let sender = ip4(p, 14), target = ip4(p, 24)
        return op == 1 ? "ARP, who-has \(target) tell \(sender)" : op == 2 ? "ARP, \(sender) is-at \(mac(p, 8))" : "ARP op \(op)"
    }

    static func ipv4(_ p: ArraySlice<UInt8>) -> String {
        guard p.count >= 20 else { return "IPv4, truncated" }
        let headerLength = Int(p[p.startIndex] & 0x0F) * 4
        let proto = p[p.startIndex + 9]
        let src = ip4(p, 12), dst = ip4(p, 16)
        let fragmentOffset = (u16(p, 6) & 0x1FFF)
        if fragmentOffset != 0 { return "\(src) > \(dst) IPv4 fragment" }
        return transport(proto, src: src, dst: dst, p.dropFirst(headerLength), icmpV6: false)
    }

    static func ipv6(_ p: ArraySlice<UInt8>) -> String {
        guard p.count >= 40 else { return "IPv6, truncated" }
        let next = p[p.startIndex + 6]
        let src = ip6(p, 8), dst = ip6(p, 24)
        return transport(next, src: src, dst: dst, p.dropFirst(40), icmpV6: true)
    }

    static func transport(_ proto: UInt8, src: String, dst: String, _ p: ArraySlice<UInt8>, icmpV6: Bool) -> String {
        switch proto {
        case 1, 58:
            guard p.count >= 2 else { return "\(src) > \(dst) ICMP, truncated" }
            return "\(src) > \(dst) \(icmpName(p[p.startIndex], p[p.startIndex + 1], v6: proto == 58))"
        case 6:
            guard p.count >= 14 else { return "\(src) > \(dst) TCP, truncated" }
            let flags = p[p.startIndex + 13]
            let names = [(0x02, "S"), (0x10, "."), (0x01, "F"), (0x04, "R"), (0x08, "P")].filter { Int(flags) & $0.0 != 0 }.map(\.1)
            return "\(src).\(u16(p, 0)) > \(dst).\(u16(p, 2)) TCP [\(names.joined())]"
        case 17:
            guard p.count >= 8 else { return "\(src) > \(dst) UDP, truncated" }
            let (sport, dport) = (u16(p, 0), u16(p, 2))
            // VXLAN (8472 is the kernel's and flannel's default, 4789 the IANA port): show what it carries.
            if dport == 8472 || dport == 4789, p.count >= 16 {
                let vxlan = p.dropFirst(8)
                let vni = UInt32(vxlan[vxlan.startIndex + 4]) << 16 | UInt32(vxlan[vxlan.startIndex + 5]) << 8 | UInt32(vxlan[vxlan.startIndex + 6])
                return "\(src).\(sport) > \(dst).\(dport) VXLAN vni \(vni): \(ethernet(vxlan.dropFirst(8)))"
            }
            return "\(src).\(sport) > \(dst).\(dport) UDP"
        default:
            return "\(src) > \(dst) IP protocol \(proto)"
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

    static func u16(_ b: ArraySlice<UInt8>, _ offset: Int) -> UInt16 {
        UInt16(b[b.startIndex + offset]) << 8 | UInt16(b[b.startIndex + offset + 1])
    }

    static func ip4(_ b: ArraySlice<UInt8>, _ offset: Int) -> String {
        (0..<4).map { String(b[b.startIndex + offset + $0]) }.joined(separator: ".")
    }

    static func ip6(_ b: ArraySlice<UInt8>, _ offset: Int) -> String {
        stride(from: 0, to: 16, by: 2).map { String(u16(b, offset + $0), radix: 16) }.joined(separator: ":")
    }

    static func mac(_ b: ArraySlice<UInt8>, _ offset: Int) -> String {
        (0..<6).map { i in let v = b[b.startIndex + offset + i]; return (v < 16 ? "0" : "") + String(v, radix: 16) }.joined(separator: ":")
    }
}

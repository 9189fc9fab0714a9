/// The xtables extensions' info structs kube-proxy's rules use, as nft_compat hands them back
/// (the kernel's own layout, in host byte order except addresses and NAT ports): the options
/// iptables-save would print from them, for KubeRulesOverNetlink.
enum XtablesInfo {
    /// Takes a match's options into `rule`; false when a match the table needs cannot be read.
    /// Matches the table does not need (addrtype, mark, conntrack, …) are passed over, as the
    /// text scanner passes over their options.
    static func apply(match name: String, revision: UInt32, info: ArraySlice<UInt8>, to rule: inout KubeRule, keepComment: Bool) -> Bool {
        switch name {
        case "comment":
            // struct xt_comment_info { char comment[256]; }
            rule.commented = true
            if keepComment { rule.comment = String(decoding: info.prefix { $0 != 0 }, as: UTF8.self) }
            return true
        case "tcp", "udp":
            // struct xt_tcp { u16 spts[2], dpts[2]; u8 option, flg_mask, flg_cmp, invflags; } and
            // struct xt_udp { u16 spts[2], dpts[2]; u8 invflags; }: XT_*_INV_DSTPT is 0x02.
            let invertedAt = name == "tcp" ? 11 : 8
            guard info.count > invertedAt else { return false }
            setPort(low: u16(info, 4), high: u16(info, 6), inverted: byte(info, invertedAt) & 0x02 != 0, into: &rule)
            return true
        case "sctp":
            // struct xt_sctp_info { u16 dpts[2], spts[2]; u32 chunkmap[8], chunk_match_type;
            // struct { u8 chunktype, flag, flag_mask; } flag_info[4]; int flag_count; u32 flags, invflags; }
            guard info.count >= 68 else { return false }
            if u32(info, 60) & 0x02 != 0 {  // XT_SCTP_DEST_PORTS
                setPort(low: u16(info, 0), high: u16(info, 2), inverted: u32(info, 64) & 0x02 != 0, into: &rule)
            }
            return true
        case "statistic":
            // struct xt_statistic_info { u16 mode, flags; u32 probability (of 2^31); … }
            guard info.count >= 8, u16(info, 2) & 0x01 == 0 else { return false }  // XT_STATISTIC_INVERT: not kube-proxy's
            if u16(info, 0) == 0 { rule.probability = Double(u32(info, 4)) / 2_147_483_648 }  // XT_STATISTIC_MODE_RANDOM
            return true
        case "recent":
            // struct xt_recent_mtinfo { u32 seconds, hit_count; u8 check_set, invert; char name[200]; … }
            guard info.count >= 10 else { return false }
            if byte(info, 8) & 0x01 != 0 { rule.recentCheck = true }  // XT_RECENT_CHECK: --rcheck
            let seconds = u32(info, 0)
            if seconds > 0 { rule.seconds = Int(seconds) }
            return true
        default:
            return true
        }
    }

    /// `--dport` as iptables-save prints it: one port when low and high agree; a negation or a
    /// range is no single destination port (the text scanner reads none either).
    static func setPort(low: UInt16, high: UInt16, inverted: Bool, into rule: inout KubeRule) {
        if !inverted, low == high { rule.destinationPort = low }
    }

    /// DNAT's `--to-destination` as iptables-save prints it ("10.244.1.5:8080"), from revision 0's
    /// struct nf_nat_ipv4_multi_range_compat { u32 rangesize; struct { u32 flags; be32 min_ip,
    /// max_ip; be16 min, max; } range[1]; } or revisions 1 and 2's struct nf_nat_range(2) { u32
    /// flags; union nf_inet_addr min_addr, max_addr; be16 min_proto, max_proto; [be16 base_proto;] }.
    /// nil when the struct is not one of those.
    static func natDestination(revision: UInt32, info: ArraySlice<UInt8>) -> String? {
        let flags: UInt32, minimum: [UInt8], maximum: [UInt8], ports: (UInt16, UInt16)
        switch revision {
        case 0:
            guard info.count >= 20, u32(info, 0) == 1 else { return nil }
            flags = u32(info, 4)
            minimum = bytes(info, 8..<12)
            maximum = bytes(info, 12..<16)
            ports = (be16(info, 16), be16(info, 18))
        case 1, 2:
            guard info.count >= 40 else { return nil }
            flags = u32(info, 0)
            minimum = bytes(info, 4..<8)
            maximum = bytes(info, 20..<24)
            ports = (be16(info, 36), be16(info, 38))
        default:
            return nil
        }
        // NF_NAT_RANGE_MAP_IPS 1, NF_NAT_RANGE_PROTO_SPECIFIED 2.
        var text = ""
        if flags & 0x01 != 0 {
            text = KubeRulesOverNetlink.dottedQuad(minimum)
            if maximum != minimum { text += "-" + KubeRulesOverNetlink.dottedQuad(maximum) }
        }
        if flags & 0x02 != 0 {
            text += ":\(ports.0)"
            if ports.1 != ports.0 { text += "-\(ports.1)" }
        }
        return text
    }

    /// Host byte order, as the kernel keeps the structs (the recorded fixtures are from x86-64).
    /// `at` counts from the struct's start.
    static func u16(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt16.self) }
    }
    static func u32(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt32 {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) }
    }
    static func be16(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt16 {
        UInt16(bytes[bytes.startIndex + at]) << 8 | UInt16(bytes[bytes.startIndex + at + 1])
    }
    static func byte(_ bytes: ArraySlice<UInt8>, _ at: Int) -> UInt8 { bytes[bytes.startIndex + at] }
    static func bytes(_ bytes: ArraySlice<UInt8>, _ range: Range<Int>) -> [UInt8] {
        Array(bytes[(bytes.startIndex + range.lowerBound)..<(bytes.startIndex + range.upperBound)])
    }
}

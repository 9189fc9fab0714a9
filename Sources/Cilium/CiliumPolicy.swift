import BPF

/// One entry of an endpoint's policy map (cilium_policy_NNNNN to 1.16, cilium_policy_v2_NNNNN
/// from 1.17; LPM tries from 1.14): whom it concerns, in which direction, for what, and whether
/// it allows (perhaps through a proxy) or denies. docs/cilium.md §3.4 gives the layout.
public struct CiliumPolicyEntry: Sendable, Equatable {
    /// The peer's security identity; 0: any identity.
    public var identity: UInt32
    public var egress: Bool
    /// nil: any protocol.
    public var protocolNumber: UInt8?
    /// The destination ports it covers; nil: any.
    public var ports: ClosedRange<UInt16>?
    public var deny: Bool
    /// The L7 proxy the traffic is redirected to; 0: none.
    public var proxyPort: UInt16
    public var authType: UInt8
    /// Counters in the entry (to 1.17; 1.18 keeps them in cilium_policystats).
    public var packets: UInt64?
    public var bytes: UInt64?
    /// The key's LPM prefix length (40 to 64) and the value's flags byte: to 1.16 bit 1 and 2
    /// are wildcard protocol and wildcard port; from 1.17 bits 3-7 the entry's own prefix length.
    public var prefixLength: UInt32
    public var flags: UInt8
    /// 1.17+: the proxy port's priority (byte 4) and whether the auth type was given explicitly.
    public var proxyPriority: UInt8
    public var explicitAuth: Bool

    /// Key (12 bytes): prefixlen at 0, identity at 4, egress at 8 (bit 0), protocol at 9, dport
    /// at 10 (network order); 40 bits are always matched (identity and direction), then the
    /// protocol (8) and the port (16): prefixlen 64 is one port, 48 any port, between a range.
    /// Value: proxy port at 0 (network order), flags at 2 (bit 0 deny), auth type at 3 (7 bits);
    /// 24 bytes carry packets at 8 and bytes at 16.
    public init?(key: [UInt8], value: [UInt8]) {
        guard key.count == 12, value.count == 24 || value.count == 8 else { return nil }
        let prefix = HostOrder.u32(key, at: 0) ?? 0
        guard prefix >= 40, prefix <= 64 else { return nil }
        prefixLength = prefix
        flags = value[2]
        proxyPriority = value[4]
        explicitAuth = value[3] & 0x80 != 0
        identity = HostOrder.u32(key, at: 4) ?? 0
        egress = key[8] & 1 != 0
        protocolNumber = prefix >= 48 ? key[9] : nil
        if prefix > 48 {
            let port = UInt16(key[10]) << 8 | UInt16(key[11])
            let fixed = Int(prefix) - 48
            let mask: UInt16 = fixed >= 16 ? 0xFFFF : ~(0xFFFF >> UInt16(fixed))
            ports = (port & mask)...((port & mask) | ~mask)
        } else {
            ports = nil
        }
        proxyPort = UInt16(value[0]) << 8 | UInt16(value[1])
        deny = value[2] & 1 != 0
        authType = value[3] & 0x7F
        packets = value.count == 24 ? HostOrder.u64(value, at: 8) : nil
        bytes = value.count == 24 ? HostOrder.u64(value, at: 16) : nil
    }

    /// "ingress from identity 5678 TCP 80 allow", as a line.
    public var summary: String {
        let peer = identity == 0 ? "any identity" : "identity \(identity)"
        let proto =
            protocolNumber.map { [1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"][Int($0)] ?? "protocol \($0)" }
            ?? "any protocol"
        let port = ports.map { $0.lowerBound == $0.upperBound ? " \($0.lowerBound)" : " \($0.lowerBound)-\($0.upperBound)" } ?? ""
        let verdict = deny ? "deny" : (proxyPort != 0 ? "allow via proxy port \(proxyPort)" : "allow")
        let counted = packets.map { ", \($0) packets" } ?? ""
        return
            "\(egress ? "egress to" : "ingress from") \(peer) \(proto)\(port): \(verdict)\(authType != 0 ? " (auth type \(authType))" : "")\(counted)"
    }
}

extension CiliumDatapath {
    /// An endpoint's policy map: its name and entries (bounded), or why it could not be read.
    public func policy(endpoint: UInt16) -> Result<(map: String, entries: [CiliumPolicyEntry]), BPFError> {
        let digits = String(endpoint)
        let suffix = String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        var lastError = BPFError("no policy map for endpoint \(endpoint) (cilium_policy_v2_\(suffix) or cilium_policy_\(suffix))")
        for name in ["cilium_policy_v2_" + suffix, "cilium_policy_" + suffix] {
            guard let map = try? BPFMap.open(pinned: globalsPath + "/" + name) else { continue }
            guard CiliumLayouts.layout(of: map.info, pinnedAs: name) != nil else {
                lastError = BPFError("\(name) has a layout no Cilium release writes: not read")
                continue
            }
            let entries = map.entries(limit: 1 << 16).entries.compactMap { CiliumPolicyEntry(key: $0.key, value: $0.values.first ?? []) }
            return .success((name, entries))
        }
        return .failure(lastError)
    }
}

/// The datapath's policy decision for one packet, replayed from an endpoint's policy map as
/// bpf/lib/policy.h makes it (docs/cilium.md §8): a lookup with the peer's identity and one with
/// identity 0 (any), each the longest prefix match over {identity, direction, protocol, port},
/// then the release's rule for which wins.
public enum CiliumPolicyReplay {
    public struct Packet: Sendable, Equatable {
        public var identity: UInt32
        public var egress: Bool
        public var protocolNumber: UInt8
        /// The destination port; for ICMP and ICMPv6 the message's type (ICMP rules are on by default).
        public var port: UInt16

        public init(identity: UInt32, egress: Bool, protocolNumber: UInt8, port: UInt16) {
            self.identity = identity
            self.egress = egress
            self.protocolNumber = protocolNumber
            self.port = port
        }
    }

    public enum Verdict: Sendable, Equatable {
        case allow(by: CiliumPolicyEntry, proxyPort: UInt16)
        /// DROP_POLICY_DENY (181).
        case deny(by: CiliumPolicyEntry)
        /// DROP_POLICY_AUTH_REQUIRED (189) until the auth map has the pair.
        case authRequired(by: CiliumPolicyEntry, type: UInt8)
        /// DROP_POLICY (133): no entry for the identity nor for any identity.
        case noMatch

        public var dropReason: UInt8? {
            switch self {
            case .allow: nil
            case .deny: 181
            case .authRequired: 189
            case .noMatch: 133
            }
        }
    }

    /// `modern`: a 1.17+ map (cilium_policy_v2_, or an 8-byte value).
    public static func verdict(_ packet: Packet, entries: [CiliumPolicyEntry], modern: Bool) -> Verdict {
        let peer = longest(packet, identity: packet.identity, in: entries)
        return modern ? modernVerdict(packet, peer: peer, entries: entries) : legacyVerdict(packet, peer: peer, entries: entries)
    }

    /// The entry with the longest prefix whose covered bits match the packet.
    static func longest(_ packet: Packet, identity: UInt32, in entries: [CiliumPolicyEntry]) -> CiliumPolicyEntry? {
        entries.filter { entry in
            guard entry.identity == identity, entry.egress == packet.egress else { return false }
            if entry.prefixLength >= 48, entry.protocolNumber != packet.protocolNumber { return false }
            if let ports = entry.ports { return ports.contains(packet.port) }
            return true
        }
        .max { $0.prefixLength < $1.prefixLength }
    }

    /// 1.14 to 1.16: six steps from the most specific (the identity's port) to the least (any).
    static func legacyVerdict(_ packet: Packet, peer: CiliumPolicyEntry?, entries: [CiliumPolicyEntry]) -> Verdict {
        let any = longest(packet, identity: 0, in: entries)
        let wildPort = { (e: CiliumPolicyEntry) in e.flags & 0x04 != 0 }
        let wildProtocol = { (e: CiliumPolicyEntry) in e.flags & 0x02 != 0 }
        let chosen: CiliumPolicyEntry?
        if let peer, !wildPort(peer) {
            chosen = peer
        } else if let any, !wildPort(any) {
            chosen = any
        } else if let peer, !wildProtocol(peer) {
            chosen = peer
        } else if let any, !wildProtocol(any) {
            chosen = any
        } else {
            chosen = peer ?? any
        }
        guard let chosen else { return .noMatch }
        if chosen.deny { return .deny(by: chosen) }
        if chosen.authType != 0 { return .authRequired(by: chosen, type: chosen.authType) }
        return .allow(by: chosen, proxyPort: chosen.proxyPort)
    }

    /// 1.17 and 1.18: the identity's deny returns at once; else any-identity wins if it denies,
    /// if the identity has none, or by proxy priority, then by its own prefix length.
    static func modernVerdict(_ packet: Packet, peer: CiliumPolicyEntry?, entries: [CiliumPolicyEntry]) -> Verdict {
        if let peer, peer.deny { return .deny(by: peer) }
        let any = longest(packet, identity: 0, in: entries)
        let chosen: CiliumPolicyEntry
        let other: CiliumPolicyEntry?
        let ownLength = { (e: CiliumPolicyEntry) in e.flags >> 3 }
        if let any,
            any.deny || peer == nil || any.proxyPriority > peer!.proxyPriority
                || (any.proxyPriority == peer!.proxyPriority && ownLength(any) > ownLength(peer!))
        {
            (chosen, other) = (any, peer)
        } else if let peer {
            (chosen, other) = (peer, any)
        } else {
            return .noMatch
        }
        if chosen.deny { return .deny(by: chosen) }
        var auth = chosen.authType
        if let other, other.authType > auth, !chosen.explicitAuth { auth = other.authType }
        if auth != 0 { return .authRequired(by: chosen, type: auth) }
        return .allow(by: chosen, proxyPort: chosen.proxyPort)
    }
}

import CNetShims
import KernelState
import NetAddress
import NetlinkCodec
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Who answers for an address on a segment, asked so that no host's neighbour cache learns
/// anything from the question: IPv4, one ARP probe as `arping -D` sends it (RFC 5227: sender
/// address 0.0.0.0); IPv6, one Neighbor Solicitation as duplicate address detection sends it
/// (RFC 4862 §5.4.2: from the unspecified address to the target's solicited-node group, no source
/// link-layer option), which the holder answers with an advertisement to all nodes carrying its
/// link-layer address (Linux's ndisc_recv_ns). Every distinct link-layer address that replies is
/// a claim. One packet and a few milliseconds, however many hosts share the segment. Read-only for
/// this node too: an unsolicited reply changes no permanent neighbour entry.
public enum AddressClaimProbe {
    /// Waits for replies until `window` ms have passed, or `settle` ms after the last one.
    static func ask(
        _ address: IPAddress, on link: Link, in handle: NamespaceHandle, windowMilliseconds: Int64 = 60,
        settleMilliseconds: Int64 = 3
    ) throws -> [LinkAddress] {
        guard let mac = link.address, mac.bytes.count == 6 else { return [] }
        if address.isIPv4 {
            let request: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 1] + mac.bytes + [0, 0, 0, 0] + [0, 0, 0, 0, 0, 0] + address.bytes
            return try exchange(
                request, protocol: UInt16(ETH_P_ARP), to: [UInt8](repeating: 0xff, count: 6), on: link, in: handle,
                window: windowMilliseconds, settle: settleMilliseconds
            ) { claimant(of: address, in: $0) }
        }
        // 33:33 and the solicited-node group's last four bytes (RFC 2464 §7).
        let group: [UInt8] = [0x33, 0x33] + solicitedNodeGroup(of: address).suffix(4)
        return try exchange(
            neighborSolicitation(for: address), protocol: UInt16(ETH_P_IPV6), to: group, on: link, in: handle,
            window: windowMilliseconds, settle: settleMilliseconds
        ) { advertiser(of: address, in: $0) }
    }

    /// Sends `packet` (a link-layer payload of `protocol`) to `destination` on `link` from a
    /// packet socket opened in the link's namespace, and collects what `claimant` makes of every
    /// packet that arrives on that link until the window closes.
    static func exchange(
        _ packet: [UInt8], protocol ethertype: UInt16, to destination: [UInt8], on link: Link, in handle: NamespaceHandle,
        window: Int64, settle: Int64, claimant: (ArraySlice<UInt8>) -> LinkAddress?
    ) throws -> [LinkAddress] {
        let socket = try handle.run {
            try Socket(domain: AF_PACKET, type: Int32(SOCK_DGRAM.rawValue), protocol: Int32(ethertype.bigEndian), what: "AF_PACKET")
        }
        socket.closesInBackground = true
        let fd = socket.fd
        var target = sockaddr_ll()
        target.sll_family = UInt16(AF_PACKET)
        target.sll_protocol = ethertype.bigEndian
        target.sll_ifindex = link.index
        target.sll_halen = 6
        withUnsafeMutableBytes(of: &target.sll_addr) { for i in 0..<6 { $0[i] = destination[i] } }
        _ = try withUnsafePointer(to: &target) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                try systemCall("send \(ethertype == UInt16(ETH_P_ARP) ? "ARP probe" : "neighbour solicitation")", context: link.name) {
                    packet.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
                }
            }
        }
        var claims: [LinkAddress] = []
        var deadline = MonotonicClock.milliseconds + window
        var buffer = [UInt8](repeating: 0, count: 256)
        var from = sockaddr_ll()
        while true {
            let left = deadline - MonotonicClock.milliseconds
            guard left > 0, socket.wait(for: Int32(POLLIN), milliseconds: Int32(left)) else { break }
            var length = socklen_t(MemoryLayout<sockaddr_ll>.size)
            let n = retryingOnInterrupt {
                buffer.withUnsafeMutableBytes { bytes in
                    withUnsafeMutablePointer(to: &from) { pointer in
                        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            recvfrom(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, &length)
                        }
                    }
                }
            }
            // Only what arrived on the probed link (the socket sees every interface's packets).
            guard n > 0, from.sll_ifindex == link.index, let claim = claimant(buffer[..<n]), !claims.contains(claim) else { continue }
            claims.append(claim)
            deadline = min(deadline, MonotonicClock.milliseconds + settle)
        }
        return claims
    }

    /// The sender hardware address of an ARP reply (op 2, Ethernet/IPv4) from `address`; nil for
    /// anything else a segment may carry.
    public static func claimant(of address: IPAddress, in packet: ArraySlice<UInt8>) -> LinkAddress? {
        let p = Array(packet)
        guard p.count >= 28, p[0] == 0, p[1] == 1, p[2] == 8, p[3] == 0, p[4] == 6, p[5] == 4, p[6] == 0, p[7] == 2,
            Array(p[14..<18]) == address.bytes
        else { return nil }
        return LinkAddress(Array(p[8..<14]))
    }

    // MARK: IPv6's question and answer

    /// ff02::1:ff00:0/104 with the address's last three bytes (RFC 4291 §2.7.1).
    static func solicitedNodeGroup(of address: IPAddress) -> [UInt8] {
        [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff] + address.bytes.suffix(3)
    }

    /// The IPv6 packet of a duplicate-address-detection solicitation for `address`: hop limit 255
    /// (receivers drop neighbour discovery that a router could have forwarded), ICMPv6 type 135.
    public static func neighborSolicitation(for address: IPAddress) -> [UInt8] {
        let source = [UInt8](repeating: 0, count: 16), destination = solicitedNodeGroup(of: address)
        var icmp: [UInt8] = [135, 0, 0, 0, 0, 0, 0, 0] + address.bytes
        let sum = internetChecksum(source + destination + [0, 0, 0, UInt8(icmp.count), 0, 0, 0, UInt8(IPPROTO_ICMPV6)] + icmp)
        icmp[2] = UInt8(sum >> 8)
        icmp[3] = UInt8(sum & 0xff)
        return [0x60, 0, 0, 0, 0, UInt8(icmp.count), UInt8(IPPROTO_ICMPV6), 255] + source + destination + icmp
    }

    /// RFC 1071's ones' complement sum.
    public static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// The target link-layer address of a Neighbor Advertisement (ICMPv6 136, no extension
    /// headers) for `address`; nil for anything else a segment carries.
    public static func advertiser(of address: IPAddress, in packet: ArraySlice<UInt8>) -> LinkAddress? {
        let p = Array(packet)
        guard p.count >= 64, p[0] >> 4 == 6, p[6] == UInt8(IPPROTO_ICMPV6), p[40] == 136, p[41] == 0,
            Array(p[48..<64]) == address.bytes
        else { return nil }
        // Options: type, length in units of 8 bytes; option 2 is the target link-layer address.
        var offset = 64
        while offset + 8 <= p.count {
            let type = p[offset], units = Int(p[offset + 1])
            guard units > 0, offset + units * 8 <= p.count else { return nil }
            if type == 2 { return LinkAddress(Array(p[(offset + 2)..<(offset + 8)])) }
            offset += units * 8
        }
        return nil
    }
}

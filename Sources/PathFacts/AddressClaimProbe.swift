import CNetShims
import KernelState
import NetAddress
import NetlinkCodec
import NetSystem

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Who answers for an IPv4 address on a segment: one ARP probe, as `arping -D` sends it (RFC
/// 5227: sender address 0.0.0.0, so no host's neighbour cache learns anything from it), and every
/// distinct link-layer address that replies. One packet and a few milliseconds, however many pods
/// share the segment: the duplicate-address check reads no other namespace.
public enum AddressClaimProbe {
    /// Waits for replies until `window` ms have passed, or `settle` ms after the last one.
    static func ask(_ address: IPAddress, on link: Link, in handle: NamespaceHandle, windowMilliseconds: Int64 = 60,
                    settleMilliseconds: Int64 = 3) throws -> [LinkAddress] {
        guard address.isIPv4, let mac = link.address, mac.bytes.count == 6 else { return [] }
        let index = link.index
        let socket = try handle.run {
            try Socket(domain: AF_PACKET, type: Int32(SOCK_DGRAM.rawValue), protocol: Int32(UInt16(ETH_P_ARP).bigEndian), what: "AF_PACKET")
        }
        socket.closesInBackground = true
        let fd = socket.fd
        var target = sockaddr_ll()
        target.sll_family = UInt16(AF_PACKET)
        target.sll_protocol = UInt16(ETH_P_ARP).bigEndian
        target.sll_ifindex = index
        target.sll_halen = 6
        withUnsafeMutableBytes(of: &target.sll_addr) { for i in 0..<6 { $0[i] = 0xff } }
        let request: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 1] + mac.bytes + [0, 0, 0, 0] + [0, 0, 0, 0, 0, 0] + address.bytes
        _ = try withUnsafePointer(to: &target) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                try systemCall("send ARP probe", context: link.name) {
                    request.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_ll>.size)) }
                }
            }
        }
        var claims: [LinkAddress] = []
        let start = MonotonicClock.milliseconds
        var deadline = start + windowMilliseconds
        var buffer = [UInt8](repeating: 0, count: 128)
        while true {
            let left = deadline - MonotonicClock.milliseconds
            guard left > 0 else { break }
            guard socket.wait(for: Int32(POLLIN), milliseconds: Int32(left)) else { break }
            let n = retryingOnInterrupt { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) } }
            guard n > 0, let claimant = claimant(of: address, in: buffer[..<n]), !claims.contains(claimant) else { continue }
            claims.append(claimant)
            deadline = min(deadline, MonotonicClock.milliseconds + settleMilliseconds)
        }
        return claims
    }

    /// The sender hardware address of an ARP reply (op 2, Ethernet/IPv4) from `address`; nil for
    /// anything else a segment may carry.
    public static func claimant(of address: IPAddress, in packet: ArraySlice<UInt8>) -> LinkAddress? {
        let p = Array(packet)
        guard p.count >= 28, p[0] == 0, p[1] == 1, p[2] == 8, p[3] == 0, p[4] == 6, p[5] == 4, p[6] == 0, p[7] == 2,
              Array(p[14..<18]) == address.bytes else { return nil }
        return LinkAddress(Array(p[8..<14]))
    }
}

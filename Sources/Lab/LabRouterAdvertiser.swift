import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The lab's IPv6 router on the underlay (node2's eth0): a router advertisement (RFC 4861 §4.2)
/// to all nodes every second, default router lifetime 60 s, no prefix. node1 learns its IPv6
/// default route from it as a SLAAC node does from its real router: through the kernel's own RA
/// handling (proto ra, an expiry), which accept_ra=1 with forwarding on turns off (lab break
/// IPV6_RA_IGNORED). SIGTERM ends it.
public enum LabRouterAdvertiser {
    public static let lifetimeSeconds: UInt16 = 60

    public static func run(interface: String) -> Never {
        let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_ICMPV6))
        guard fd >= 0 else { fail("raw ICMPv6 socket") }
        var index = UInt32(if_nametoindex(interface))
        guard index > 0 else { fail("no interface \(interface)") }
        // Hop limit 255: a receiver drops an RA that a router could have forwarded.
        var hops: Int32 = 255
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &index, socklen_t(MemoryLayout<UInt32>.size))
        let allNodes: [UInt8] = [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]  // ff02::1
        // Type 134, code 0, checksum (the kernel fills it for raw ICMPv6), cur hop limit 64,
        // flags 0, router lifetime, reachable time 0, retrans timer 0.
        let lifetime = lifetimeSeconds
        let advertisement: [UInt8] = [134, 0, 0, 0, 64, 0, UInt8(lifetime >> 8), UInt8(lifetime & 0xFF), 0, 0, 0, 0, 0, 0, 0, 0]
        while true {
            _ = SocketAddress.withIP(allNodes, port: 0, scope: index) { address, length in
                advertisement.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
            }
            sleep(1)
        }
    }

    static func fail(_ what: String) -> Never {
        let message = "netdoctor lab serve --router-advertisements: \(what): \(String(cString: strerror(errno)))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(3)
    }
}

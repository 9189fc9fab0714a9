import NetSystem
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Socket addresses as the kernel reads them: family, port in network order, the address bytes,
/// the length of the structure.
@Suite("socket addresses built in one place")
struct SocketAddressTests {
    @Test("IPv4: sockaddr_in with the port in network order")
    func ipv4() {
        SocketAddress.withIP([10, 244, 1, 2], port: 53) { pointer, length in
            #expect(length == socklen_t(MemoryLayout<sockaddr_in>.size))
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                #expect(Int32(address.pointee.sin_family) == AF_INET)
                #expect(UInt16(bigEndian: address.pointee.sin_port) == 53)
                #expect(withUnsafeBytes(of: address.pointee.sin_addr) { Array($0) } == [10, 244, 1, 2])
            }
        }
    }

    @Test("IPv6: sockaddr_in6 with its scope")
    func ipv6() {
        let allNodes: [UInt8] = [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]
        SocketAddress.withIP(allNodes, port: 9449, scope: 7) { pointer, length in
            #expect(length == socklen_t(MemoryLayout<sockaddr_in6>.size))
            pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                #expect(Int32(address.pointee.sin6_family) == AF_INET6)
                #expect(UInt16(bigEndian: address.pointee.sin6_port) == 9449)
                #expect(address.pointee.sin6_scope_id == 7)
                #expect(withUnsafeBytes(of: address.pointee.sin6_addr) { Array($0) } == allNodes)
            }
        }
    }

    @Test("a Unix socket's path, and one too long for sun_path refused")
    func unix() {
        let length = SocketAddress.withUnix("/run/containerd/containerd.sock") { pointer, length in
            pointer.withMemoryRebound(to: sockaddr_un.self, capacity: 1) { address in
                #expect(Int32(address.pointee.sun_family) == AF_UNIX)
                let path = withUnsafeBytes(of: address.pointee.sun_path) { Array($0.prefix { $0 != 0 }) }
                #expect(path == Array("/run/containerd/containerd.sock".utf8))
            }
            return length
        }
        #expect(length == socklen_t(MemoryLayout<sockaddr_un>.size))
        #expect(SocketAddress.withUnix("/" + String(repeating: "x", count: 120)) { _, length in length } == nil)
    }

    @Test("writeAll writes every byte through a pipe, and says EPIPE when nobody reads")
    func writeAllThroughPipe() {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let bytes = [UInt8](repeating: 7, count: 4096)
        #expect(bytes.withUnsafeBytes { writeAll(ends[1], $0) } == 0)
        var read = [UInt8](repeating: 0, count: 8192)
        #expect(read.withUnsafeMutableBytes { Glibc.read(ends[0], $0.baseAddress, $0.count) } == 4096)
        close(ends[0])
        signal(SIGPIPE, SIG_IGN)
        #expect(bytes.withUnsafeBytes { writeAll(ends[1], $0) } == EPIPE)
        close(ends[1])
    }
}

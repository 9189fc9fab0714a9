#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// A socket made inside a namespace (on the namespace thread) and connected to an address: the
/// descriptor stays in that namespace, so the rest runs on the caller's thread. For probes that
/// must leave as the pod's own traffic would (a trace's TCP and UDP probes, DNS lookups).
public struct ConnectedSocket {
    public let socket: Socket
    public var fd: Int32 { socket.fd }
    /// errno of connect, 0 when it succeeded at once (EINPROGRESS for a non-blocking TCP socket).
    public let connectError: Int32

    /// `address`: 4 bytes (IPv4) or 16 (IPv6), network order.
    public init(_ type: Int32, in namespace: NetNamespace, to address: [UInt8], port: UInt16) throws {
        let family = address.count == 16 ? AF_INET6 : AF_INET
        let socket = try NamespaceThread.shared.run(in: namespace) { try Socket(domain: family, type: type, what: "probe") }
        let fd = socket.fd
        let status = SocketAddress.withIP(family == AF_INET6 ? address : Array(address.prefix(4)), port: port) { connect(fd, $0, $1) }
        self.socket = socket
        connectError = status == 0 ? 0 : errno
    }

    /// The port the kernel bound the socket to (what conntrack keys the connection on).
    public var localPort: UInt16? {
        var storage = sockaddr_in6()  // large enough for either family; the port sits at the same offset
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return status == 0 ? UInt16(bigEndian: storage.sin6_port) : nil
    }

    /// Waits for `events`; false on timeout.
    public func wait(for events: Int32, milliseconds: Int32) -> Bool { socket.wait(for: events, milliseconds: milliseconds) }
}

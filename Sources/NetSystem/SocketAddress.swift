#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Socket addresses, built in one place for every bind, connect and sendto: an IP address and
/// port, or a Unix socket's path.
public enum SocketAddress {
    /// IPv4 loopback, network order.
    public static let loopback: [UInt8] = [127, 0, 0, 1]
    /// IPv6's unspecified address (::), which a dual-stack socket binds to take both families.
    public static let anyIPv6 = [UInt8](repeating: 0, count: 16)

    /// `address`: 4 bytes (IPv4) or 16 (IPv6), network order; `scope`: an IPv6 link-local
    /// address's interface index.
    public static func withIP<T>(
        _ address: [UInt8], port: UInt16, scope: UInt32 = 0,
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T
    ) rethrows -> T {
        if address.count == 16 {
            var storage = sockaddr_in6()
            storage.sin6_family = sa_family_t(AF_INET6)
            storage.sin6_port = port.bigEndian
            storage.sin6_scope_id = scope
            address.withUnsafeBytes { raw in withUnsafeMutableBytes(of: &storage.sin6_addr) { $0.copyMemory(from: raw) } }
            return try withUnsafePointer(to: &storage) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var storage = sockaddr_in()
        storage.sin_family = sa_family_t(AF_INET)
        storage.sin_port = port.bigEndian
        address.prefix(4).withUnsafeBytes { raw in withUnsafeMutableBytes(of: &storage.sin_addr) { $0.copyMemory(from: raw) } }
        return try withUnsafePointer(to: &storage) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// A Unix socket's address; nil when the path does not fit (sun_path is 108 bytes with its NUL).
    public static func withUnix<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) rethrows -> T? {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: storage.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in raw.copyBytes(from: bytes) }
        return try withUnsafePointer(to: &storage) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

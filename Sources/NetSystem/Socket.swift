#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A socket this process owns: opened close-on-exec, its descriptor closed when the last reference
/// goes (as NIO's BaseSocket), its options set by name with a failure thrown rather than ignored.
/// Open it inside a namespace (NamespaceThread.run) and it stays bound there, usable from any thread.
public final class Socket: @unchecked Sendable {
    public let fd: Int32

    public init(domain: Int32, type: Int32, protocol number: Int32 = 0, what: String) throws(SystemError) {
        fd = try systemCall("socket(\(what))") { socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), number) }
    }

    /// Set on packet sockets: their close waits for the kernel's RCU grace period (tens of
    /// milliseconds of nothing), so it happens on a thread of its own and the caller goes on.
    public var closesInBackground = false

    deinit {
        let fd = self.fd
        if closesInBackground { SideBySide.detached { _ = close(fd) } } else { close(fd) }
    }

    /// An integer option (SOL_SOCKET, IPPROTO_IP, SOL_NETLINK, …).
    public func set(_ level: Int32, _ name: Int32, to value: Int32, what: String) throws(SystemError) {
        var value = value
        _ = try systemCall("setsockopt(\(what))") { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// An integer option's value; nil when the kernel will not say.
    public func get(_ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    /// Waits until one of `events` (POLLIN, POLLOUT, …) or `milliseconds` pass; false on timeout.
    public func wait(for events: Int32, milliseconds: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(events), revents: 0)
        return retryingOnInterrupt { poll(&poller, 1, milliseconds) } > 0
    }
}

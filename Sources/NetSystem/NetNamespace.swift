#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// A network namespace held open by a file descriptor (of /var/run/netns/NAME, /proc/PID/ns/net,
/// …), identified by device and inode as `ip netns identify` does. The descriptor keeps the
/// namespace alive while netdoctor works in it.
public final class NetNamespace: @unchecked Sendable, CustomStringConvertible {
    public let fd: Int32
    /// The path it was opened from, as named on the node.
    public let path: String
    public let identity: Identity

    public struct Identity: Sendable, Hashable, CustomStringConvertible {
        public var device: UInt64
        public var inode: UInt64
        public var description: String { "net:[\(inode)]" }

        public init(device: UInt64, inode: UInt64) {
            self.device = device
            self.inode = inode
        }
    }

    /// Opens a namespace file; ENOENT when it is gone, EINVAL-like when the file is no namespace.
    public init(path: String, displayPath: String? = nil) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .last("open namespace", context: displayPath ?? path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = SystemError.last("stat namespace", context: displayPath ?? path)
            close(fd)
            throw error
        }
        self.fd = fd
        self.path = displayPath ?? path
        identity = Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    deinit { close(fd) }

    /// The namespace of the calling thread (not /proc/self, which is the main thread's).
    public static func current() throws(SystemError) -> NetNamespace {
        try NetNamespace(path: "/proc/thread-self/ns/net", displayPath: "node")
    }

    /// The identity of a namespace file without keeping it open.
    public static func identity(of path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public var description: String { "\(path) (\(identity))" }
}

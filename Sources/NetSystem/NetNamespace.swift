import CNetShims

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

    /// Opens a namespace file without blocking (a FIFO with no writer would block forever) and
    /// checks that it is one: a file of nsfs whose type is a network namespace. ENOENT when it is
    /// gone; `isNotANamespace` for a FIFO, a device, a directory, a regular file or another kind
    /// of namespace.
    public init(path: String, displayPath: String? = nil) throws(SystemError) {
        let name = displayPath ?? path
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 { throw .last("open namespace", context: name) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = SystemError.last("stat namespace", context: name)
            close(fd)
            throw error
        }
        if let wrong = Self.notANetworkNamespace(fd: fd, status: st) {
            close(fd)
            throw SystemError("open namespace", errno: EINVAL, context: name, detail: "not a network namespace (\(wrong))")
        }
        self.fd = fd
        self.path = displayPath ?? path
        identity = Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    deinit { close(fd) }

    /// nsfs's magic (linux/magic.h) and NS_GET_NSTYPE (linux/nsfs.h: _IO(0xb7, 0x3)).
    static let nsfsMagic = 0x6e73_6673
    static let getNamespaceType: UInt = 0xb703

    /// What the open file is, when it is not a network namespace; nil when it is one.
    static func notANetworkNamespace(fd: Int32, status st: stat) -> String? {
        switch st.st_mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFDIR: return "a directory"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: break
        }
        var fs = statfs()
        if fstatfs(fd, &fs) == 0, Int(fs.f_type) != nsfsMagic { return "a regular file" }
        let type = ioctl(fd, getNamespaceType)
        if type >= 0, type != cns_clone_newnet { return "another kind of namespace" }
        return nil
    }

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

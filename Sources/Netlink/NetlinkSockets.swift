import CNetShims
import NetSystem
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// The netlink sockets of one network namespace, one per protocol (nfnetlink for nf_tables and
/// conntrack, …), each opened the first time it is asked for and kept for the handle's life, as
/// vishvananda/netlink's Handle keeps its sockets. A socket stays bound to the namespace it was
/// opened in, so a handle's sockets answer for that namespace from any thread.
///
/// Owned by whoever owns the namespace (PathFacts' NamespaceHandle, a session for the node), never
/// by the process: a process-wide cache would hold a deleted pod's namespace open in the agent.
public final class NetlinkSockets: @unchecked Sendable {
    /// The namespace, open; nil: the one netdoctor runs in (the node's).
    public let namespace: NetNamespace?
    private let thread: NamespaceThread
    /// One lock for every socket: the exchanges of one handle are one at a time (two readers side
    /// by side on one socket would read each other's replies), and a whole exchange is held.
    private let sockets = Mutex<[Int32: NetlinkSocket]>([:])

    /// `namespace`: opened by the caller (NamespaceDirectory), or nil for netdoctor's own.
    public init(namespace: NetNamespace?, thread: NamespaceThread = .shared) {
        self.namespace = namespace
        self.thread = thread
    }

    /// Runs `body` with the namespace's socket of `family` (opened now if it is the first ask),
    /// alone on it. A body must not ask the same handle again (the lock is held).
    public func with<T>(_ family: Int32, _ body: (NetlinkSocket) throws -> T) throws -> T {
        try sockets.withLock { open in
            if let socket = open[family] { return try body(socket) }
            let socket = try NetlinkSocket.open(in: namespace, thread: thread, protocol: family)
            open[family] = socket
            return try body(socket)
        }
    }

    /// `with` for nfnetlink (nf_tables, conntrack).
    public func netfilter<T>(_ body: (NetlinkSocket) throws -> T) throws -> T {
        try with(NETLINK_NETFILTER, body)
    }
}

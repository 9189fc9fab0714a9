import KernelState
import Netlink
import NetlinkCodec
import NetSystem

/// A namespace opened once: the open descriptor (for setns), a route socket bound inside it and
/// its other netlink sockets as they are needed (`sockets`), its state dumped once, and `run` for work that must happen there (on the namespace thread,
/// or right here for the node netdoctor runs in).
public final class NamespaceHandle: NamespaceAccess, @unchecked Sendable {
    public let known: KnownNamespace
    public let opened: NetNamespace
    /// rtnetlink's socket, for the dumps, route lookups and nsid questions made here, one at a time.
    public let socket: NetlinkSocket
    /// The namespace's sockets of the other families (nfnetlink), shared by its firewall and
    /// conntrack readers.
    public let sockets: NetlinkSockets
    private let directory: NamespaceDirectory
    private let recorder: FactRecorder?
    private var cached: NamespaceState?

    /// `nodeSockets`: the node's, when `known` is the node (the session reads it without a handle too).
    /// `thread`: where the first visit happens (a sweep opens handles on several at once).
    init(
        _ known: KnownNamespace, directory: NamespaceDirectory, recorder: FactRecorder?, nodeSockets: NetlinkSockets,
        thread: NamespaceThread = .shared
    ) throws {
        self.known = known
        self.directory = directory
        self.recorder = recorder
        opened = try directory.open(known)
        sockets = known.isNode ? nodeSockets : NetlinkSockets(namespace: opened)
        guard !known.isNode else {
            socket = try NetlinkSocket.open(in: nil)
            return
        }
        // The socket opened on the namespace thread, the state read right after on the same
        // thread (a handle is opened to be read; a sweep's prefetch reads on several threads at
        // once). A read that fails here is left to state(), which says why where a command asks.
        let (socket, read) = try thread.run(in: opened) { () throws -> (NetlinkSocket, Read?) in
            let socket = try NetlinkSocket()
            return (socket, try? Self.read(socket: socket))
        }
        self.socket = socket
        if let read { cached = try? remember(read) }
    }

    /// A handle from a batch's visit (`open(_:…)`): the socket opened there, the read made there.
    private init(
        _ known: KnownNamespace, opened: NetNamespace, socket: NetlinkSocket, read: Read?, directory: NamespaceDirectory,
        recorder: FactRecorder?
    ) {
        self.known = known
        self.opened = opened
        self.socket = socket
        self.directory = directory
        self.recorder = recorder
        sockets = NetlinkSockets(namespace: opened)
        if let read { cached = try? remember(read) }
    }

    /// Handles for many namespaces other than the node's, opened in one visit to `thread`
    /// (NamespaceThread.runEach: one setns per namespace). Those that cannot be opened are left
    /// out; opening them alone says why.
    static func open(
        _ namespaces: [KnownNamespace], directory: NamespaceDirectory, recorder: FactRecorder?, thread: NamespaceThread
    ) -> [NamespaceHandle] {
        let opened = namespaces.compactMap { known in (try? directory.open(known)).map { (known, $0) } }
        guard
            let visits = try? thread.runEach(
                in: opened.map(\.1),
                { _ in
                    let socket = try NetlinkSocket()
                    return (socket, try? Self.read(socket: socket))
                })
        else { return [] }
        return zip(opened, visits).compactMap { namespace, visit in
            guard case .success(let (socket, read)) = visit else { return nil }
            return NamespaceHandle(
                namespace.0, opened: namespace.1, socket: socket, read: read, directory: directory, recorder: recorder)
        }
    }

    /// What one read of the namespace gave: its dumps, its links parsed, its sysctls.
    struct Read {
        var dumps: NamespaceDumps
        var links: [Link]
        var sysctls: [String: String]
    }

    /// The dumps and sysctls of the socket's namespace (the sysctls from the same answers: no
    /// procfs read, so any thread can do it).
    static func read(socket: NetlinkSocket) throws -> Read {
        let dumps = try NamespaceDumps.read(socket: socket)
        let links = try dumps.parsedLinks()
        return Read(dumps: dumps, links: links, sysctls: dumps.sysctls(links: links, interfaces: NamespaceReader.sysctlInterfaces(links)))
    }

    /// The state of a read, recorded when recording, kept as the handle's.
    private func remember(_ read: Read) throws -> NamespaceState {
        let state = try read.dumps.state(links: read.links, sysctls: read.sysctls)
        recorder?.record(read.dumps, sysctls: read.sysctls, of: known)
        return state
    }

    public var handle: NamespaceHandle? { self }

    /// Runs `body` inside the namespace: sockets opened there belong to it.
    public func run<T>(_ body: @escaping () throws -> T) throws -> T {
        known.isNode ? try body() : try NamespaceThread.shared.run(in: opened, body)
    }

    public func state() throws -> NamespaceState {
        if let cached { return cached }
        let state = try remember(Self.read(socket: socket))
        cached = state
        return state
    }

    public func freshNeighbors() throws -> [Neighbor] {
        let messages = try socket.dump(RouteRequest.dump(.getNeighbor, family: .unspecified))
        recorder?.record(neighborsAfter: messages, of: known)
        return try messages.compactMap { $0.type == .newNeighbor ? try Neighbor($0) : nil }.filter { $0.family != .bridge }
    }

    public func lookup(_ query: RouteQuery) -> RouteAnswer {
        let reply = Result { () throws(NetlinkError) -> NetlinkMessage in try socket.request(query.request) }
        recorder?.record(query, reply: reply, of: known)
        return RouteAnswer.judging(reply, for: query)
    }

    public func peer(nsid: Int32) -> KnownNamespace? {
        let peer = directory.resolve(nsid: nsid, seenFrom: known, socket: socket)
        recorder?.record(peer: peer, nsid: nsid, of: known)
        return peer
    }
}

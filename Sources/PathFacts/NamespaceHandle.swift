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
        // One visit to the namespace thread: the socket opened there, and the state read while
        // there (its sysctls can only be read inside; a handle is opened to be read, and a sweep
        // of a hundred pods pays each visit's two setns calls a hundred times). A read that fails
        // here is left to state(), which says why where a command asks.
        let (socket, read) = try thread.run(in: opened) { () throws -> (NetlinkSocket, Read?) in
            let socket = try NetlinkSocket()
            return (socket, try? Self.read(socket: socket, sysctls: { NamespaceReader.sysctlsHere(interfaces: $0) }))
        }
        self.socket = socket
        if let read { cached = try? remember(read) }
    }

    /// What one read of the namespace gave: its dumps, its links parsed, its sysctls.
    struct Read {
        var dumps: NamespaceDumps
        var links: [Link]
        var sysctls: [String: String]
    }

    /// The dumps and sysctls of the socket's namespace; `sysctls` reads them for the interfaces
    /// named, where it runs.
    static func read(socket: NetlinkSocket, sysctls: ([String]) throws -> [String: String]) throws -> Read {
        let dumps = try NamespaceDumps.read(socket: socket)
        let links = try dumps.parsedLinks()
        return Read(dumps: dumps, links: links, sysctls: try sysctls(NamespaceReader.sysctlInterfaces(links)))
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
        let state = try remember(
            Self.read(socket: socket, sysctls: { interfaces in try run { NamespaceReader.sysctlsHere(interfaces: interfaces) } }))
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

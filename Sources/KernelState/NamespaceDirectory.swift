import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import NodeFiles

/// A network namespace netdoctor knows of: by name (`ip netns`), the node's own, or a process's.
public struct KnownNamespace: Sendable, Hashable {
    /// How people name it: "node", a netns name, or "pid 1234".
    public var name: String
    /// The path to open on this machine.
    public var path: String
    public var identity: NetNamespace.Identity
    /// The namespace netdoctor runs in (the directory's first, found by its own /proc/self), so
    /// no namespace thread is needed to work there. An identity, not a name: a namespace someone
    /// named "node" under /run/netns is not it.
    public let isNode: Bool

    public init(name: String, path: String, identity: NetNamespace.Identity, isNode: Bool = false) {
        self.name = name
        self.path = path
        self.identity = identity
        self.isNode = isNode
    }

    /// The name the node's own namespace goes by: the one netdoctor runs in.
    public static let nodeName = "node"
}

/// Finds the namespaces of a node: named ones under `--root` and as named on the node
/// (/var/run/netns, /run/netns), the one netdoctor runs in ("node"), and those of processes.
/// Only the node's is looked at up front: a node of a hundred pods has a hundred named
/// namespaces, listed the first time a name or a lookup needs them, and a /proc walk after that.
public final class NamespaceDirectory: @unchecked Sendable {
    public let root: NodeRoot
    private var named: [KnownNamespace] = []
    private var namedListed = false
    private var processesScanned: Bool
    /// Every namespace found: named ones first; those of processes are looked up the first time
    /// they are needed (a /proc walk costs milliseconds on a busy node).
    public var known: [KnownNamespace] {
        listNamed()
        if !processesScanned { scanProcesses() }
        return named
    }
    /// For each namespace (by identity), the namespaces its nsids name, as far as asked.
    private var nsidSearches: [NetNamespace.Identity: NsidSearch] = [:]
    /// The node's namespace, opened once for the nsid questions (askable).
    var nodeOpened: NetNamespace?

    static let namedDirectories = ["/var/run/netns", "/run/netns"]

    public init(root: NodeRoot, includeProcesses: Bool = true) {
        self.root = root
        processesScanned = !includeProcesses
        // The main thread never changes namespace (the namespace thread does), so /proc/self is the node.
        let path = "/proc/self/ns/net"
        named = [
            KnownNamespace(
                name: KnownNamespace.nodeName, path: path,
                identity: NetNamespace.identity(of: path) ?? .init(device: 0, inode: 0), isNode: true)
        ]
    }

    /// The named namespaces, once (/var/run/netns is usually /run/netns: one stat each tells).
    private func listNamed() {
        guard !namedListed else { return }
        namedListed = true
        var seen = Set(named.map(\.identity))
        let hostRoot = NodeRoot("/")
        for directory in Self.namedDirectories {
            for base in root.prefix.isEmpty ? [hostRoot] : [root, hostRoot] {
                for entry in (try? base.list(directory, withStatus: false)) ?? [] {
                    let path = base.prefix + entry.nodePath
                    guard let identity = NetNamespace.identity(of: path), seen.insert(identity).inserted else { continue }
                    named.append(KnownNamespace(name: entry.name, path: path, identity: identity))
                }
            }
        }
    }

    private func scanProcesses() {
        processesScanned = true
        var seen = Set(named.map(\.identity))
        for entry in (try? NodeRoot("/").list("/proc")) ?? [] where entry.name.allSatisfy(\.isNumber) {
            let path = "/proc/\(entry.name)/ns/net"
            guard let identity = NetNamespace.identity(of: path), seen.insert(identity).inserted else { continue }
            named.append(KnownNamespace(name: "pid \(entry.name)", path: path, identity: identity))
        }
    }

    public var node: KnownNamespace { named[0] }

    public func named(_ name: String) -> KnownNamespace? {
        listNamed()
        return named.first { $0.name == name } ?? known.first { $0.name == name }
    }

    public func find(identity: NetNamespace.Identity) -> KnownNamespace? {
        if identity == node.identity { return node }
        listNamed()
        return named.first { $0.identity == identity } ?? known.first { $0.identity == identity }
    }

    /// The namespace at a path found in a node file (a cache's netns): under --root first, then
    /// as written. A relative path is the node's, from its `/` (where runtimes run), never
    /// netdoctor's working directory. nil when neither exists; throws when it cannot be looked at
    /// (permission denied is not "gone").
    public func namespace(atNodePath path: String) throws(SystemError) -> KnownNamespace? {
        let nodePath = NodeRoot.normalize(path)
        let candidates = root.prefix.isEmpty ? [nodePath] : [root.prefix + nodePath, nodePath]
        for candidate in candidates {
            var st = stat()
            guard stat(candidate, &st) == 0 else {
                if errno == EACCES || errno == EPERM { throw SystemError.last("stat namespace", context: path) }
                continue
            }
            let identity = NetNamespace.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            // Named after the path's last part, as `ip netns` names what it mounts there: no need
            // to list every namespace of the node to name one.
            if identity == node.identity { return node }
            return named.first { $0.identity == identity }
                ?? KnownNamespace(
                    name: String(nodePath.split(separator: "/").last ?? Substring(nodePath)), path: candidate, identity: identity)
        }
        return nil
    }

    public func open(_ namespace: KnownNamespace) throws(SystemError) -> NetNamespace {
        let opened = try NetNamespace(path: namespace.path, displayPath: namespace.name)
        // A name can be reused by a new namespace between listing and opening.
        guard opened.identity == namespace.identity else {
            throw SystemError("open namespace", errno: ENOENT, context: "\(namespace.name) was replaced")
        }
        return opened
    }

    /// Which namespace an IFLA_LINK_NETNSID seen from `namespace` names, asking that namespace's
    /// kernel for the id it gives each known namespace (RTM_GETNSID with NETNSA_FD), in order
    /// (the node first, then named ones, then processes'), until one has that id: a pod's veth
    /// peer is found at the first question however many namespaces the node has.
    public func resolve(nsid: Int32, seenFrom namespace: KnownNamespace, socket: NetlinkSocket) -> KnownNamespace? {
        var search = nsidSearches[namespace.identity] ?? NsidSearch()
        defer { nsidSearches[namespace.identity] = search }
        if let found = search.found[nsid] { return found }
        var candidates = named
        while true {
            if search.next >= candidates.count {
                // The named namespaces only when the node has not the id, /proc only when none has.
                if !namedListed {
                    listNamed()
                } else if !processesScanned {
                    scanProcesses()
                } else {
                    return nil
                }
                candidates = named
                continue
            }
            let candidate = candidates[search.next]
            search.next += 1
            guard candidate.identity != namespace.identity, let opened = askable(candidate),
                let reply = try? socket.request(RouteRequest.namespaceID(fd: opened.fd)),
                let id = try? NamespaceID(reply), id.nsid >= 0
            else { continue }
            search.found[id.nsid] = candidate
            if id.nsid == nsid { return candidate }
        }
    }
}

extension NamespaceDirectory {
    /// `candidate` opened to be named in RTM_GETNSID: the node's kept open (every pod's veth
    /// names it first), the others opened for the question.
    func askable(_ candidate: KnownNamespace) -> NetNamespace? {
        guard candidate.isNode else { return try? open(candidate) }
        if let nodeOpened { return nodeOpened }
        nodeOpened = try? open(candidate)
        return nodeOpened
    }
}

/// How far the nsid lookup from one namespace has got through the known namespaces.
struct NsidSearch {
    var found: [Int32: KnownNamespace] = [:]
    var next = 0
}

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

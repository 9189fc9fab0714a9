import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The container runtime's CRI socket: as the node names it (`unix:///run/containerd/containerd.sock`)
/// and where it is on this machine (under --root).
public struct RuntimeEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// As written in the kubelet's config or given by the operator.
    public var named: String
    /// The socket's path on this machine.
    public var socketPath: String

    public var description: String { named }

    /// The runtimes' default sockets, in the order crictl tries them.
    public static let defaults = [
        "unix:///run/containerd/containerd.sock", "unix:///var/run/crio/crio.sock",
        "unix:///run/cri-dockerd.sock",
    ]

    public init(named: String, socketPath: String) {
        self.named = named
        self.socketPath = socketPath
    }

    /// `unix:///path`, `unix:/path` or a bare `/path`; nil for other schemes (tcp://, npipe://).
    public static func socketPath(of endpoint: String) -> String? {
        var rest = Substring(endpoint)
        while let c = rest.first, c == " " || c == "\t" { rest.removeFirst() }
        while let c = rest.last, c == " " || c == "\t" || c == "\n" || c == "\r" { rest.removeLast() }
        if rest.hasPrefix("unix://") { rest = rest.dropFirst(7) } else if rest.hasPrefix("unix:") { rest = rest.dropFirst(5) }
        guard rest.hasPrefix("/"), !rest.contains("\0") else { return nil }
        return String(rest)
    }

    /// An endpoint found in a node file, under --root: a socket of the node (only the node's own
    /// `/` reaches its live runtime; under another root the socket must be mounted there).
    public static func onNode(_ endpoint: String, root: NodeRoot) -> RuntimeEndpoint? {
        guard let path = socketPath(of: endpoint) else { return nil }
        return RuntimeEndpoint(named: endpoint, socketPath: root.prefix + NodeRoot.normalize(path))
    }

    /// An endpoint the operator gave (--runtime-endpoint): taken as written on this machine.
    public static func given(_ endpoint: String) -> RuntimeEndpoint? {
        socketPath(of: endpoint).map { RuntimeEndpoint(named: endpoint, socketPath: $0) }
    }

    /// Whether something is a socket at the path (without connecting).
    public var socketExists: Bool {
        var st = stat()
        return stat(socketPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }
}

import NetAddress
import RuntimeModel

/// Where netdoctor learned of a pod: the container runtime's answer over CRI (authoritative:
/// the runtime made the sandbox), or only libcni's result cache (what a plugin chain once
/// returned; it outlives pods that were not torn down cleanly).
public enum PodSource: String, Sendable {
    case runtime
    case cache
}

/// A pod sandbox of this node: who it is, where its network namespace is, and its network
/// attachments. One model for every command and the agent: the primary address and interface
/// come from here and nowhere else.
public struct Pod: Sendable, Equatable {
    public var namespace: String?
    public var name: String
    /// The sandbox (pause container) ID: the cache's containerId, the runtime's sandbox id.
    public var containerID: String
    public var uid: String?
    /// The pod's network attachments from libcni's cache, the primary one first (eth0, else the
    /// first by interface name). The runtime's own loopback attachment is not among them.
    public var attachments: [CacheEntry]
    /// The runtime's loopback attachment (containerd's `cni-loopback` on `lo`), kept apart: it
    /// locates the namespace when nothing else does, and names nothing else.
    public var loopback: CacheEntry?
    /// The network namespace path as the node names it: the runtime's, else the cache's.
    public var netnsPath: String?
    public var source: PodSource
    /// The runtime's answer: its IPs (primary first), its sandbox state; nil for cache-only pods.
    public var runtime: RuntimeView?
    /// How reports name the pod: its name, or namespace/name where another pod of this node has
    /// the same name (a StatefulSet's web-0 in two namespaces), so that a hop or a finding says
    /// which one. Set by the PodDirectory that lists the node's pods.
    public var label: String

    public struct RuntimeView: Sendable, Equatable {
        public var name: String
        public var version: String
        public var ready: Bool
        public var addresses: [IPAddress]
    }

    public init(
        namespace: String?, name: String, containerID: String, uid: String? = nil, attachments: [CacheEntry],
        loopback: CacheEntry? = nil, netnsPath: String?, source: PodSource = .cache, runtime: RuntimeView? = nil
    ) {
        self.namespace = namespace
        self.name = name
        self.containerID = containerID
        self.uid = uid
        self.attachments = attachments
        self.loopback = loopback
        self.netnsPath = netnsPath
        self.source = source
        self.runtime = runtime
        self.label = name
    }

    public var fullName: String { namespace.map { "\($0)/\(name)" } ?? name }

    /// The pod's network attachment: the one on eth0, else the first.
    public var primary: CacheEntry? { attachments.first }

    /// The pod's own interface in its namespace (eth0 when nothing says otherwise).
    public var primaryInterface: String { primary?.ifName ?? "eth0" }

    /// Every address of the pod, the primary attachment's first; the runtime's when the cache
    /// has none. Loopback addresses are never among them.
    public var addresses: [IPAddress] {
        var seen = Set<IPAddress>()
        let cached = attachments.flatMap(\.addresses)
        return (cached + (runtime?.addresses ?? [])).filter { !$0.isLoopback && seen.insert($0).inserted }
    }

    /// The address a probe from or to this pod uses in a family: the primary attachment's.
    public func primaryAddress(ipv4: Bool = true) -> IPAddress? { addresses.first { $0.isIPv4 == ipv4 } }
    public func primaryAddress(_ family: IPFamily) -> IPAddress? { primaryAddress(ipv4: family == .ipv4) }
    /// The families it has an address in, IPv4 first (as a dual-stack cluster lists podIPs).
    public var families: [IPFamily] { IPFamily.allCases.filter { primaryAddress($0) != nil } }

    /// How the report names where this pod came from.
    public var sourceDescription: String {
        switch source {
        case .runtime:
            "the runtime (\(runtime.map { "\($0.name) \($0.version)" } ?? "CRI"))"
                + (attachments.isEmpty ? "; no libcni cache entry" : " and libcni's cache")
        case .cache: "libcni's result cache"
        }
    }

    /// Orders attachments as the pod sees them and sets the runtime's loopback apart.
    static func arrange(_ entries: [CacheEntry]) -> (attachments: [CacheEntry], loopback: CacheEntry?) {
        let loopback = entries.first(where: \.isRuntimeLoopback)
        let others = entries.filter { !$0.isRuntimeLoopback }.sorted { a, b in
            let (x, y) = (a.ifName ?? "", b.ifName ?? "")
            if (x == "eth0") != (y == "eth0") { return x == "eth0" }
            return x < y
        }
        return (others, loopback)
    }
}

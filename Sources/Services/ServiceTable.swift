import NetAddress

/// How kube-proxy (or what replaces it) turns Services into packets on this node.
public enum ProxyMode: String, Sendable, CaseIterable {
    case iptables, nftables, ipvs
    /// Cilium's kube-proxy replacement: services live in BPF maps, not in netfilter.
    case cilium
}

/// A Service port as kube-proxy names it: `namespace/name:port` (`:port` absent for an unnamed
/// port, as kube-proxy prints it).
public struct ServicePortName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    /// The port's name; "" for an unnamed port.
    public var port: String

    public init(namespace: String, name: String, port: String) {
        self.namespace = namespace
        self.name = name
        self.port = port
    }

    /// "ns/svc:port" or "ns/svc" (kube-proxy writes "ns/svc:" for an unnamed port in old versions).
    public static func parse(_ text: Substring) -> ServicePortName? {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let namespace = text[..<slash]
        let rest = text[text.index(after: slash)...]
        let colon = rest.firstIndex(of: ":")
        let name = colon.map { rest[..<$0] } ?? rest
        let port = colon.map { rest[rest.index(after: $0)...] } ?? ""
        guard !namespace.isEmpty, !name.isEmpty, !namespace.contains(" "), !name.contains(" "), !port.contains(" ") else { return nil }
        return ServicePortName(namespace: String(namespace), name: String(name), port: String(port))
    }

    /// "ns/svc": the Service the port belongs to.
    public var service: String { "\(namespace)/\(name)" }

    public var description: String { port.isEmpty ? service : "\(service):\(port)" }

    public static func < (a: Self, b: Self) -> Bool { (a.namespace, a.name, a.port) < (b.namespace, b.name, b.port) }
}

/// Where traffic enters a Service on this node.
public enum ServiceFrontend: Sendable, Hashable, CustomStringConvertible {
    case clusterIP(IPAddress, UInt16)
    case externalIP(IPAddress, UInt16)
    case loadBalancerIP(IPAddress, UInt16)
    /// Any local address of the node (or the nodePortAddresses) on this port.
    case nodePort(UInt16)

    public var description: String {
        switch self {
        case .clusterIP(let ip, let port): "cluster IP \(Self.join(ip, port))"
        case .externalIP(let ip, let port): "external IP \(Self.join(ip, port))"
        case .loadBalancerIP(let ip, let port): "load-balancer IP \(Self.join(ip, port))"
        case .nodePort(let port): "node port \(port)"
        }
    }

    public var kind: String {
        switch self {
        case .clusterIP: "clusterIP"
        case .externalIP: "externalIP"
        case .loadBalancerIP: "loadBalancerIP"
        case .nodePort: "nodePort"
        }
    }

    public var address: IPAddress? {
        switch self {
        case .clusterIP(let ip, _), .externalIP(let ip, _), .loadBalancerIP(let ip, _): ip
        case .nodePort: nil
        }
    }

    public var port: UInt16 {
        switch self {
        case .clusterIP(_, let port), .externalIP(_, let port), .loadBalancerIP(_, let port), .nodePort(let port): port
        }
    }

    /// "10.96.0.1:80", "[fd00::1]:80".
    public static func join(_ ip: IPAddress, _ port: UInt16) -> String { ip.isIPv4 ? "\(ip):\(port)" : "[\(ip)]:\(port)" }
}

/// One endpoint kube-proxy can send a Service port's traffic to.
public struct ServiceEndpoint: Sendable, Hashable {
    public var address: IPAddress
    public var port: UInt16
    /// The chance kube-proxy's rules give it (iptables' `--probability` chain, nft's `numgen`), as
    /// a share of new connections; nil when the rules do not say (IPVS weights are relative).
    public var share: Double?
    /// Where the rules name it: the KUBE-SEP chain, the nft endpoint chain, the IPVS real server.
    public var rule: String

    public init(address: IPAddress, port: UInt16, share: Double? = nil, rule: String) {
        self.address = address
        self.port = port
        self.share = share
        self.rule = rule
    }

    public var description: String { ServiceFrontend.join(address, port) }
}

/// What kube-proxy's rules do with a Service port's new connections.
public enum ServiceDisposition: Sendable, Hashable {
    /// Spread over the endpoints.
    case endpoints
    /// Rejected: the Service has no ready endpoint (the REJECT rule, the no-endpoint map element,
    /// the IPVS virtual server with no real server).
    case noEndpoints
    /// Dropped for external traffic: `externalTrafficPolicy: Local` and no endpoint on this node.
    case noLocalEndpoints
}

/// A Service port as this node's proxy rules have it.
public struct ServiceEntry: Sendable, Hashable {
    /// nil where the rules carry no names (IPVS).
    public var name: ServicePortName?
    /// "tcp", "udp" or "sctp".
    public var proto: String
    public var frontends: [ServiceFrontend]
    public var endpoints: [ServiceEndpoint]
    public var disposition: ServiceDisposition
    /// Separate Local-policy endpoints (KUBE-SVL / local- chains) exist: traffic from outside
    /// the node goes to this node's endpoints only.
    public var localPolicy: Bool
    /// ClientIP session affinity, in seconds.
    public var affinitySeconds: Int?
    /// The rules that say all this, in the proxy's own words.
    public var evidence: [String]

    public init(
        name: ServicePortName?, proto: String, frontends: [ServiceFrontend] = [], endpoints: [ServiceEndpoint] = [],
        disposition: ServiceDisposition = .endpoints, localPolicy: Bool = false, affinitySeconds: Int? = nil, evidence: [String] = []
    ) {
        self.name = name
        self.proto = proto
        self.frontends = frontends
        self.endpoints = endpoints
        self.disposition = disposition
        self.localPolicy = localPolicy
        self.affinitySeconds = affinitySeconds
        self.evidence = evidence
    }

    /// "ns/svc:port" or, unnamed, the first frontend.
    public var label: String { name?.description ?? frontends.first?.description ?? "?" }
}

/// Every Service port this node's proxy rules know, read from one mode's state.
public struct ServiceTable: Sendable {
    public var mode: ProxyMode
    public var entries: [ServiceEntry]
    /// Per-endpoint comments are absent (kube-proxy's large-cluster mode, above 1000 endpoints):
    /// names come from the service chains only.
    public var largeCluster: Bool
    /// What could not be read or did not fit, one line each.
    public var problems: [String]
    /// What the reader should know of how the mode's state is read (its entries carry no
    /// Service names, …): said with the listing, not judged.
    public var notes: [String] = []
    /// Why kube-proxy's masquerade step is not in place (the rule or the jump to it missing);
    /// nil when it is, or when the mode has none to read.
    public var masqueradeMissing: String?
    /// Where the rules were read ("nf_tables over netlink", "iptables-save", …): what an operator
    /// runs to see the same.
    public var readFrom: String?

    public init(
        mode: ProxyMode, entries: [ServiceEntry], largeCluster: Bool = false, problems: [String] = [], masqueradeMissing: String? = nil
    ) {
        self.mode = mode
        self.entries = entries
        self.largeCluster = largeCluster
        self.problems = problems
        self.masqueradeMissing = masqueradeMissing
    }

    /// The entry a packet to `address:port/proto` meets (a cluster, external or load-balancer IP).
    public func entry(address: IPAddress, port: UInt16, proto: String) -> ServiceEntry? {
        entries.first { entry in
            entry.proto == proto && entry.frontends.contains { $0.address == address && $0.port == port }
        }
    }

    /// Entries of a Service port, or of every port of a Service when `name.port` is nil.
    public func entries(namespace: String, name: String, port: String? = nil) -> [ServiceEntry] {
        entries.filter { entry in
            guard let entryName = entry.name, entryName.namespace == namespace, entryName.name == name else { return false }
            return port.map { entryName.port == $0 } ?? true
        }
    }
}

import NetAddress

/// What a DNS diagnosis of one pod rests on, gathered once: the pod's resolv.conf, what the
/// kubelet would have given it, the node's own resolv.conf, and every query sent from the pod's
/// namespace. DNSChecks judges these and nothing else.
public struct DNSFacts: Sendable {
    /// The kubelet's DNS settings (clusterDNS, clusterDomain, resolvConf) and the files they came from.
    public struct Kubelet: Sendable {
        public var clusterDNS: [IPAddress]
        public var clusterDomain: String?
        /// The file the kubelet gives pods of dnsPolicy Default (and CoreDNS's upstream): /etc/resolv.conf unless set.
        public var resolvConf: String
        public var files: [String]

        public init(clusterDNS: [IPAddress], clusterDomain: String?, resolvConf: String?, files: [String]) {
            self.clusterDNS = clusterDNS
            self.clusterDomain = clusterDomain
            self.resolvConf = resolvConf ?? "/etc/resolv.conf"
            self.files = files
        }
    }

    public var pod: String
    /// The pod's Kubernetes namespace (its ClusterFirst search list starts with `<ns>.svc.`).
    public var podNamespace: String?
    public var resolvConfPath: String
    public var resolvConf: ResolvConf
    public var kubelet: Kubelet?
    /// The node's resolv.conf at the kubelet's resolvConf path, when readable.
    public var nodeResolvConf: ResolvConf?
    public var name: DNSName
    public var exchanges: [DNSExchange]
    /// What the node's Service table says of each nameserver that is a Service address.
    public var serviceContext: [IPAddress: [String]]
    /// An answer slower than this is DNS_SLOW.
    public var slowMilliseconds: Double
    /// The conntrack race probe, when it ran (the first nameserver answered over UDP).
    public var burst: DNSBurst?
    /// NodeLocal DNSCache's link and rules on this node, when they could be looked for.
    public var nodeLocal: NodeLocalDNS?
    /// A name every cluster DNS answers (`kubernetes.default.svc.<domain>.`), asked of each
    /// nameserver beside the pod's own queries: a server that answers it is up, whatever it says
    /// of the name asked.
    public var controlName: DNSName?

    public init(
        pod: String, podNamespace: String?, resolvConfPath: String, resolvConf: ResolvConf, kubelet: Kubelet?,
        nodeResolvConf: ResolvConf?, name: DNSName, exchanges: [DNSExchange], serviceContext: [IPAddress: [String]] = [:],
        slowMilliseconds: Double = 500
    ) {
        self.pod = pod
        self.podNamespace = podNamespace
        self.resolvConfPath = resolvConfPath
        self.resolvConf = resolvConf
        self.kubelet = kubelet
        self.nodeResolvConf = nodeResolvConf
        self.name = name
        self.exchanges = exchanges
        self.serviceContext = serviceContext
        self.slowMilliseconds = slowMilliseconds
    }

    /// The names a lookup of `name` queries, in order.
    public var candidates: [DNSName] { resolvConf.candidates(for: name) }

    /// The pod's nameservers as its resolver uses them (glibc: 127.0.0.1 when the file names none).
    public var nameservers: [IPAddress] { resolvConf.nameservers.isEmpty ? [IPAddress.parse("127.0.0.1")!] : resolvConf.nameservers }

    public func exchanges(
        server: IPAddress, transport: DNSTransport? = nil, name: DNSName? = nil, type: DNSRecordType? = nil
    ) -> [DNSExchange] {
        exchanges.filter { exchange in
            exchange.server == server && transport.map { exchange.transport == $0 } ?? true && name.map { exchange.name == $0 } ?? true
                && type.map { exchange.type == $0 } ?? true
        }
    }
}

/// The dnsPolicy a pod's resolv.conf implies, told from the file and the kubelet's settings.
public enum DNSPolicy: String, Sendable {
    /// The kubelet's clusterDNS as nameservers, `<ns>.svc.<domain> svc.<domain> <domain>` first in the search list.
    case clusterFirst = "ClusterFirst"
    /// The node's own resolv.conf (the kubelet's resolvConf): cluster names do not resolve.
    case `default` = "Default"
    /// Neither: dnsPolicy None with the pod's own dnsConfig, or a file someone changed.
    case custom = "None or custom"

    public static func implied(by facts: DNSFacts) -> DNSPolicy {
        if let kubelet = facts.kubelet, !kubelet.clusterDNS.isEmpty, facts.resolvConf.nameservers == kubelet.clusterDNS {
            return .clusterFirst
        }
        if let domain = facts.kubelet?.clusterDomain, facts.resolvConf.search.contains("svc.\(domain)") { return .clusterFirst }
        if let node = facts.nodeResolvConf, facts.resolvConf.nameservers == node.nameservers { return .default }
        return .custom
    }
}

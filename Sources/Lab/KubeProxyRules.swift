import Services

/// A Service port as the API server hands it to kube-proxy, with its endpoints as one node's
/// kube-proxy sees them (which are on this node decides `externalTrafficPolicy: Local`).
public struct ProxiedServicePort: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var address: String
        public var port: UInt16
        public var local: Bool
        public init(address: String, port: UInt16, local: Bool) {
            self.address = address
            self.port = port
            self.local = local
        }
        /// As Go's net.JoinHostPort writes it (kube-proxy's endpoint strings): "[fd00::2]:8080" for IPv6.
        var hostPort: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
    }

    public var name: ServicePortName
    public var proto: String
    public var clusterIP: String
    public var port: UInt16
    public var nodePort: UInt16?
    /// `externalTrafficPolicy: Local`: external traffic goes to this node's endpoints only.
    public var externalLocal: Bool
    public var endpoints: [Endpoint]

    public init(
        name: ServicePortName, proto: String, clusterIP: String, port: UInt16, nodePort: UInt16? = nil,
        externalLocal: Bool = false, endpoints: [Endpoint]
    ) {
        self.name = name
        self.proto = proto
        self.clusterIP = clusterIP
        self.port = port
        self.nodePort = nodePort
        self.externalLocal = externalLocal
        self.endpoints = endpoints
    }
}

/// kube-proxy's rules for a set of Service ports, written as kube-proxy writes them: the
/// iptables-restore input of its iptables mode and the nft script of its nftables mode (chain
/// names, comments, probabilities, maps and the order within each chain as in kube-proxy's
/// golden test outputs, pkg/proxy/{iptables,nftables}/proxier_test.go). The lab loads them with
/// the real iptables-restore and nft, so what netdoctor reads back is what those tools keep.
/// Covered: ClusterIP, NodePort, Cluster and Local external policy, services without
/// endpoints, large-cluster mode (no per-endpoint comments), IPv6 in iptables mode (the input of
/// ip6tables-restore, as kube-proxy's IPv6 proxier writes it beside the IPv4 one). Not written:
/// LoadBalancer source ranges, session affinity, health-check node ports, nftables' ip6 table.
public enum KubeProxyRules {
    /// The masquerade mark of kube-proxy's default masqueradeBit 14.
    static let masqueradeMark = "0x4000"
}

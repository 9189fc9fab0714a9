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
        var hostPort: String { "\(address):\(port)" }
    }

    public var name: ServicePortName
    public var proto: String
    public var clusterIP: String
    public var port: UInt16
    public var nodePort: UInt16?
    /// `externalTrafficPolicy: Local`: external traffic goes to this node's endpoints only.
    public var externalLocal: Bool
    public var endpoints: [Endpoint]

    public init(name: ServicePortName, proto: String, clusterIP: String, port: UInt16, nodePort: UInt16? = nil,
                externalLocal: Bool = false, endpoints: [Endpoint]) {
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
/// endpoints, large-cluster mode (no per-endpoint comments). Not written: LoadBalancer source
/// ranges, session affinity, health-check node ports, IPv6.
public enum KubeProxyRules {
    /// The masquerade mark of kube-proxy's default masqueradeBit 14.
    static let masqueradeMark = "0x4000"

    // MARK: iptables

    /// iptables-restore input (for `--noflush`: kube-proxy's own chains are declared, hence
    /// flushed; the jumps from the built-in chains are inserted first, as kube-proxy's
    /// EnsureRule prepends them).
    /// `jumps`: false on a later sync, when the built-in chains' jumps are in place already.
    public static func iptables(_ services: [ProxiedServicePort], clusterCIDR: String, largeCluster: Bool = false, jumps: Bool = true) -> String {
        var filter: [String] = []
        var chains: [String] = []
        var nat: [String] = []
        for service in services {
            let name = service.name.description
            let p = service.proto
            let match = "-m \(p) -p \(p)"
            let svc = KubeProxyNames.serviceChain(service.name, proto: p)
            let ext = KubeProxyNames.externalChain(service.name, proto: p)
            let svl = KubeProxyNames.localChain(service.name, proto: p)
            guard !service.endpoints.isEmpty else {
                filter.append("-A KUBE-SERVICES -m comment --comment \"\(name) has no endpoints\" \(match) -d \(service.clusterIP) --dport \(service.port) -j REJECT")
                if let nodePort = service.nodePort {
                    filter.append("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"\(name) has no endpoints\" -m addrtype --dst-type LOCAL \(match) --dport \(nodePort) -j REJECT")
                }
                continue
            }
            let local = service.endpoints.filter(\.local)
            chains.append(svc)
            nat.append("-A KUBE-SERVICES -m comment --comment \"\(name) cluster IP\" \(match) -d \(service.clusterIP) --dport \(service.port) -j \(svc)")
            nat.append("-A \(svc) -m comment --comment \"\(name) cluster IP\" \(match) -d \(service.clusterIP) --dport \(service.port) ! -s \(clusterCIDR) -j KUBE-MARK-MASQ")
            nat += spread(service.endpoints, from: svc, service: service, largeCluster: largeCluster)
            if let nodePort = service.nodePort {
                chains.append(ext)
                nat.append("-A KUBE-NODEPORTS -m comment --comment \(quoted(name)) \(match) --dport \(nodePort) -j \(ext)")
                if service.externalLocal {
                    nat.append("-A \(ext) -m comment --comment \"pod traffic for \(name) external destinations\" -s \(clusterCIDR) -j \(svc)")
                    nat.append("-A \(ext) -m comment --comment \"masquerade LOCAL traffic for \(name) external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ")
                    nat.append("-A \(ext) -m comment --comment \"route LOCAL traffic for \(name) external destinations\" -m addrtype --src-type LOCAL -j \(svc)")
                    if local.isEmpty {
                        filter.append("-A KUBE-EXTERNAL-SERVICES -m comment --comment \"\(name) has no local endpoints\" -m addrtype --dst-type LOCAL \(match) --dport \(nodePort) -j DROP")
                    } else {
                        chains.append(svl)
                        nat.append("-A \(ext) -j \(svl)")
                        nat += spread(local, from: svl, service: service, largeCluster: largeCluster)
                    }
                } else {
                    nat.append("-A \(ext) -m comment --comment \"masquerade traffic for \(name) external destinations\" -j KUBE-MARK-MASQ")
                    nat.append("-A \(ext) -j \(svc)")
                }
            }
            for endpoint in service.endpoints {
                let sep = KubeProxyNames.endpointChain(service.name, proto: p, endpoint: endpoint.hostPort)
                let comment = largeCluster ? "" : "-m comment --comment \(quoted(name)) "
                chains.append(sep)
                nat.append("-A \(sep) \(comment)-s \(endpoint.address) -j KUBE-MARK-MASQ")
                nat.append("-A \(sep) \(comment)\(match) -j DNAT --to-destination \(endpoint.hostPort)")
            }
        }
        var lines = ["*filter"]
        lines += ["KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL"].map { ":\($0) - [0:0]" }
        lines += filter
        lines += [
            "-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
            "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
            "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark \(masqueradeMark)/\(masqueradeMark) -j ACCEPT",
            "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        ]
        if jumps {
            lines += [
                "-I INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS",
                "-I INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES",
                "-I FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES",
                "-I FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                "-I FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD",
                "-I OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                "-I INPUT -j KUBE-FIREWALL",
                "-I OUTPUT -j KUBE-FIREWALL",
            ]
        }
        lines += ["COMMIT", "*nat"]
        lines += (["KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-POSTROUTING"] + chains).map { ":\($0) - [0:0]" }
        lines += nat.filter { $0.hasPrefix("-A KUBE-SERVICES ") }
        lines.append("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS")
        lines += [
            "-A KUBE-MARK-MASQ -j MARK --or-mark \(masqueradeMark)",
            "-A KUBE-POSTROUTING -m mark ! --mark \(masqueradeMark)/\(masqueradeMark) -j RETURN",
            "-A KUBE-POSTROUTING -j MARK --xor-mark \(masqueradeMark)",
            "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE",
        ]
        lines += nat.filter { !$0.hasPrefix("-A KUBE-SERVICES ") }
        if jumps {
            lines += [
                "-I PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                "-I OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
                "-I POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
            ]
        }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The probability chain over `endpoints`: the i-th of n matches with 1/(n-i), the last always.
    static func spread(_ endpoints: [ProxiedServicePort.Endpoint], from chain: String, service: ProxiedServicePort, largeCluster: Bool) -> [String] {
        endpoints.enumerated().map { index, endpoint in
            let sep = KubeProxyNames.endpointChain(service.name, proto: service.proto, endpoint: endpoint.hostPort)
            let comment = largeCluster ? "" : "-m comment --comment \"\(service.name) -> \(endpoint.hostPort)\" "
            let left = endpoints.count - index
            let probability = left > 1 ? "-m statistic --mode random --probability \(probability(1 / Double(left))) " : ""
            return "-A \(chain) \(comment)\(probability)-j \(sep)"
        }
    }

    /// "%0.10f", as kube-proxy formats it.
    static func probability(_ value: Double) -> String {
        let scaled = Int((value * 10_000_000_000).rounded())
        let digits = String(scaled)
        let padded = String(repeating: "0", count: max(0, 10 - digits.count)) + digits
        return "0.\(padded.suffix(10))"
    }

    /// iptables quotes a comment only when it needs to; kube-proxy's bare service-port names
    /// hold "/" and ":", which iptables-save quotes, so the restore input quotes them too.
    static func quoted(_ text: String) -> String { "\"\(text)\"" }

    // MARK: nftables

    /// The nft script of kube-proxy's nftables mode for the `ip` family.
    public static func nftables(_ services: [ProxiedServicePort], clusterCIDR: String, serviceCIDR: String, nodeIPs: [String]) -> String {
        var lines = baseNftables(serviceCIDR: serviceCIDR, nodeIPs: nodeIPs)
        for service in services {
            let name = service.name.description
            let p = service.proto
            let base = KubeProxyNames.nftablesBase(service.name, proto: p)
            let svc = "service-\(base)"
            let ext = "external-\(base)"
            let local = service.endpoints.filter(\.local)
            lines.append("")
            lines.append("# \(name)")
            guard !service.endpoints.isEmpty else {
                lines.append("add element ip kube-proxy cluster-ips { \(service.clusterIP) }")
                lines.append("add element ip kube-proxy no-endpoint-services { \(service.clusterIP) . \(p) . \(service.port) comment \"\(name)\" : goto reject-chain }")
                if let nodePort = service.nodePort {
                    lines.append("add element ip kube-proxy no-endpoint-nodeports { \(p) . \(nodePort) comment \"\(name)\" : goto reject-chain }")
                }
                continue
            }
            // A verdict map's goto needs its chain to exist: nft takes the endpoint chains first.
            let endpointChains = service.endpoints.map {
                "endpoint-" + KubeProxyNames.nftablesEndpointBase(service.name, proto: p, address: $0.address, port: $0.port)
            }
            for chain in endpointChains { lines.append("add chain ip kube-proxy \(chain)") }
            lines.append("add chain ip kube-proxy \(svc)")
            lines.append("add rule ip kube-proxy \(svc) ip daddr \(service.clusterIP) ip saddr != \(clusterCIDR) jump mark-for-masquerade")
            lines.append("add rule ip kube-proxy \(svc) \(numgen(service.endpoints, service: service))")
            if let nodePort = service.nodePort {
                lines.append("add chain ip kube-proxy \(ext)")
                if service.externalLocal {
                    lines.append("add rule ip kube-proxy \(ext) ip saddr \(clusterCIDR) goto \(svc) comment \"short-circuit pod traffic\"")
                    lines.append("add rule ip kube-proxy \(ext) fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"")
                    lines.append("add rule ip kube-proxy \(ext) fib saddr type local goto \(svc) comment \"short-circuit local traffic\"")
                    if local.isEmpty {
                        lines.append("add element ip kube-proxy no-endpoint-nodeports { \(p) . \(nodePort) comment \"\(name)\" : drop }")
                    } else {
                        let lcl = "local-\(base)"
                        lines.append("add chain ip kube-proxy \(lcl)")
                        lines.append("add rule ip kube-proxy \(lcl) \(numgen(local, service: service))")
                        lines.append("add rule ip kube-proxy \(ext) goto \(lcl)")
                    }
                } else {
                    lines.append("add rule ip kube-proxy \(ext) jump mark-for-masquerade")
                    lines.append("add rule ip kube-proxy \(ext) goto \(svc)")
                }
                lines.append("add element ip kube-proxy service-nodeports { \(p) . \(nodePort) : goto \(ext) }")
            }
            for (endpoint, chain) in zip(service.endpoints, endpointChains) {
                lines.append("add rule ip kube-proxy \(chain) ip saddr \(endpoint.address) jump mark-for-masquerade")
                lines.append("add rule ip kube-proxy \(chain) meta l4proto \(p) dnat to \(endpoint.hostPort)")
            }
            lines.append("add element ip kube-proxy cluster-ips { \(service.clusterIP) }")
            lines.append("add element ip kube-proxy service-ips { \(service.clusterIP) . \(p) . \(service.port) : goto \(svc) }")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `numgen random mod N vmap { 0 : goto endpoint-…, … }`.
    static func numgen(_ endpoints: [ProxiedServicePort.Endpoint], service: ProxiedServicePort) -> String {
        let choices = endpoints.enumerated().map { index, endpoint in
            "\(index) : goto endpoint-" + KubeProxyNames.nftablesEndpointBase(service.name, proto: service.proto, address: endpoint.address, port: endpoint.port)
        }
        return "numgen random mod \(endpoints.count) vmap { \(choices.joined(separator: " , ")) }"
    }

    /// kube-proxy's table, sets, maps, base chains and their rules, before any service.
    static func baseNftables(serviceCIDR: String, nodeIPs: [String]) -> [String] {
        var lines = [
            "add table ip kube-proxy { comment \"rules for kube-proxy\" ; }",
            "add set ip kube-proxy cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }",
            "add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }",
            "add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }",
            "add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }",
            "add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }",
            "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }",
            "add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }",
            "add chain ip kube-proxy cluster-ips-check",
            "add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }",
            "add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }",
            "add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }",
            "add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }",
            "add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }",
            "add chain ip kube-proxy firewall-check",
            "add chain ip kube-proxy mark-for-masquerade",
            "add chain ip kube-proxy masquerading",
            "add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }",
            "add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }",
            "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }",
            "add chain ip kube-proxy nodeport-endpoints-check",
            "add chain ip kube-proxy reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }",
            "add chain ip kube-proxy services",
            "add chain ip kube-proxy service-endpoints-check",
            "add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
            "add rule ip kube-proxy cluster-ips-check ip daddr { \(serviceCIDR) } drop comment \"Drop traffic to unallocated ClusterIPs\"",
            "add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check",
            "add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check",
            "add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check",
            "add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check",
            "add rule ip kube-proxy filter-input ct state new jump service-endpoints-check",
            "add rule ip kube-proxy filter-output ct state new jump service-endpoints-check",
            "add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check",
            "add rule ip kube-proxy filter-output ct state new jump cluster-ips-check",
            "add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips",
            "add rule ip kube-proxy mark-for-masquerade mark set mark or \(masqueradeMark)",
            "add rule ip kube-proxy masquerading mark and \(masqueradeMark) == 0 return",
            "add rule ip kube-proxy masquerading mark set mark xor \(masqueradeMark)",
            "add rule ip kube-proxy masquerading masquerade fully-random",
            "add rule ip kube-proxy nat-output jump services",
            "add rule ip kube-proxy nat-postrouting jump masquerading",
            "add rule ip kube-proxy nat-prerouting jump services",
            "add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
            "add rule ip kube-proxy reject-chain reject",
            "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
            "add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
            "add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
        ]
        for address in nodeIPs { lines.append("add element ip kube-proxy nodeport-ips { \(address) }") }
        return lines
    }
}

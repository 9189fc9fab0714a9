import Services

extension KubeProxyRules {
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

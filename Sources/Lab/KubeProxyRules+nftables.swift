import Services

extension KubeProxyRules {
    /// The nft script of kube-proxy's nftables mode for the `ip` family.
    public static func nftables(_ services: [ProxiedServicePort], clusterCIDR: String, serviceCIDR: String, nodeIPs: [String]) -> String {
        // kube-proxy's IPv6 proxier writes the same rules in table ip6 kube-proxy.
        let ip = services.first?.clusterIP.contains(":") == true ? "ip6" : "ip"
        let table = "\(ip) kube-proxy"
        var lines = baseNftables(serviceCIDR: serviceCIDR, nodeIPs: nodeIPs, ip: ip)
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
                lines.append("add element \(table) cluster-ips { \(service.clusterIP) }")
                lines.append(
                    "add element \(table) no-endpoint-services { \(service.clusterIP) . \(p) . \(service.port) comment \"\(name)\" : goto reject-chain }"
                )
                if let nodePort = service.nodePort {
                    lines.append(
                        "add element \(table) no-endpoint-nodeports { \(p) . \(nodePort) comment \"\(name)\" : goto reject-chain }")
                }
                continue
            }
            // A verdict map's goto needs its chain to exist: nft takes the endpoint chains first.
            let endpointChains = service.endpoints.map {
                "endpoint-" + KubeProxyNames.nftablesEndpointBase(service.name, proto: p, address: $0.address, port: $0.port)
            }
            for chain in endpointChains { lines.append("add chain \(table) \(chain)") }
            lines.append("add chain \(table) \(svc)")
            lines.append("add rule \(table) \(svc) \(ip) daddr \(service.clusterIP) \(ip) saddr != \(clusterCIDR) jump mark-for-masquerade")
            lines.append("add rule \(table) \(svc) \(numgen(service.endpoints, service: service))")
            if let nodePort = service.nodePort {
                lines.append("add chain \(table) \(ext)")
                if service.externalLocal {
                    lines.append("add rule \(table) \(ext) \(ip) saddr \(clusterCIDR) goto \(svc) comment \"short-circuit pod traffic\"")
                    lines.append(
                        "add rule \(table) \(ext) fib saddr type local jump mark-for-masquerade comment \"masquerade local traffic\"")
                    lines.append("add rule \(table) \(ext) fib saddr type local goto \(svc) comment \"short-circuit local traffic\"")
                    if local.isEmpty {
                        lines.append("add element \(table) no-endpoint-nodeports { \(p) . \(nodePort) comment \"\(name)\" : drop }")
                    } else {
                        let lcl = "local-\(base)"
                        lines.append("add chain \(table) \(lcl)")
                        lines.append("add rule \(table) \(lcl) \(numgen(local, service: service))")
                        lines.append("add rule \(table) \(ext) goto \(lcl)")
                    }
                } else {
                    lines.append("add rule \(table) \(ext) jump mark-for-masquerade")
                    lines.append("add rule \(table) \(ext) goto \(svc)")
                }
                lines.append("add element \(table) service-nodeports { \(p) . \(nodePort) : goto \(ext) }")
            }
            for (endpoint, chain) in zip(service.endpoints, endpointChains) {
                lines.append("add rule \(table) \(chain) \(ip) saddr \(endpoint.address) jump mark-for-masquerade")
                lines.append("add rule \(table) \(chain) meta l4proto \(p) dnat to \(endpoint.hostPort)")
            }
            lines.append("add element \(table) cluster-ips { \(service.clusterIP) }")
            lines.append("add element \(table) service-ips { \(service.clusterIP) . \(p) . \(service.port) : goto \(svc) }")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `numgen random mod N vmap { 0 : goto endpoint-…, … }`.
    static func numgen(_ endpoints: [ProxiedServicePort.Endpoint], service: ProxiedServicePort) -> String {
        let choices = endpoints.enumerated().map { index, endpoint in
            "\(index) : goto endpoint-"
                + KubeProxyNames.nftablesEndpointBase(service.name, proto: service.proto, address: endpoint.address, port: endpoint.port)
        }
        return "numgen random mod \(endpoints.count) vmap { \(choices.joined(separator: " , ")) }"
    }

    /// kube-proxy's table, sets, maps, base chains and their rules, before any service.
    static func baseNftables(serviceCIDR: String, nodeIPs: [String], ip: String = "ip") -> [String] {
        let table = "\(ip) kube-proxy", addressType = ip == "ip6" ? "ipv6_addr" : "ipv4_addr"
        var lines = [
            "add table \(table) { comment \"rules for kube-proxy\" ; }",
            "add set \(table) cluster-ips { type \(addressType) ; comment \"Active ClusterIPs\" ; }",
            "add set \(table) nodeport-ips { type \(addressType) ; comment \"IPs that accept NodePort traffic\" ; }",
            "add map \(table) firewall-ips { type \(addressType) . inet_proto . inet_service : verdict ; comment \"destinations that are subject to LoadBalancerSourceRanges\" ; }",
            "add map \(table) no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to service nodeports with no endpoints\" ; }",
            "add map \(table) no-endpoint-services { type \(addressType) . inet_proto . inet_service : verdict ; comment \"vmap to drop or reject packets to services with no endpoints\" ; }",
            "add map \(table) service-ips { type \(addressType) . inet_proto . inet_service : verdict ; comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }",
            "add map \(table) service-nodeports { type inet_proto . inet_service : verdict ; comment \"NodePort traffic\" ; }",
            "add chain \(table) cluster-ips-check",
            "add chain \(table) filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }",
            "add chain \(table) filter-output-pre-dnat { type filter hook output priority -110 ; }",
            "add chain \(table) filter-forward { type filter hook forward priority 0 ; }",
            "add chain \(table) filter-input { type filter hook input priority 0 ; }",
            "add chain \(table) filter-output { type filter hook output priority 0 ; }",
            "add chain \(table) firewall-check",
            "add chain \(table) mark-for-masquerade",
            "add chain \(table) masquerading",
            "add chain \(table) nat-output { type nat hook output priority -100 ; }",
            "add chain \(table) nat-postrouting { type nat hook postrouting priority 100 ; }",
            "add chain \(table) nat-prerouting { type nat hook prerouting priority -100 ; }",
            "add chain \(table) nodeport-endpoints-check",
            "add chain \(table) reject-chain { comment \"helper for @no-endpoint-services / @no-endpoint-nodeports\" ; }",
            "add chain \(table) services",
            "add chain \(table) service-endpoints-check",
            "add rule \(table) cluster-ips-check \(ip) daddr @cluster-ips reject comment \"Reject traffic to invalid ports of ClusterIPs\"",
            "add rule \(table) cluster-ips-check \(ip) daddr { \(serviceCIDR) } drop comment \"Drop traffic to unallocated ClusterIPs\"",
            "add rule \(table) filter-prerouting-pre-dnat ct state new jump firewall-check",
            "add rule \(table) filter-forward ct state new jump service-endpoints-check",
            "add rule \(table) filter-forward ct state new jump cluster-ips-check",
            "add rule \(table) filter-input ct state new jump nodeport-endpoints-check",
            "add rule \(table) filter-input ct state new jump service-endpoints-check",
            "add rule \(table) filter-output ct state new jump service-endpoints-check",
            "add rule \(table) filter-output-pre-dnat ct state new jump firewall-check",
            "add rule \(table) filter-output ct state new jump cluster-ips-check",
            "add rule \(table) firewall-check \(ip) daddr . meta l4proto . th dport vmap @firewall-ips",
            "add rule \(table) mark-for-masquerade mark set mark or \(masqueradeMark)",
            "add rule \(table) masquerading mark and \(masqueradeMark) == 0 return",
            "add rule \(table) masquerading mark set mark xor \(masqueradeMark)",
            "add rule \(table) masquerading masquerade fully-random",
            "add rule \(table) nat-output jump services",
            "add rule \(table) nat-postrouting jump masquerading",
            "add rule \(table) nat-prerouting jump services",
            "add rule \(table) nodeport-endpoints-check \(ip) daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports",
            "add rule \(table) reject-chain reject",
            "add rule \(table) services \(ip) daddr . meta l4proto . th dport vmap @service-ips",
            "add rule \(table) services \(ip) daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
            "add rule \(table) service-endpoints-check \(ip) daddr . meta l4proto . th dport vmap @no-endpoint-services",
        ]
        for address in nodeIPs { lines.append("add element \(table) nodeport-ips { \(address) }") }
        return lines
    }
}

import Services

extension KubeProxyRules {
    /// iptables-restore input (for `--noflush`: kube-proxy's own chains are declared, hence
    /// flushed; the jumps from the built-in chains are inserted first, as kube-proxy's
    /// EnsureRule prepends them).
    /// `jumps`: false on a later sync, when the built-in chains' jumps are in place already.
    public static func iptables(
        _ services: [ProxiedServicePort], clusterCIDR: String, largeCluster: Bool = false, jumps: Bool = true
    ) -> String {
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
                filter.append(
                    "-A KUBE-SERVICES -m comment --comment \"\(name) has no endpoints\" \(match) -d \(service.clusterIP) --dport \(service.port) -j REJECT"
                )
                if let nodePort = service.nodePort {
                    filter.append(
                        "-A KUBE-EXTERNAL-SERVICES -m comment --comment \"\(name) has no endpoints\" -m addrtype --dst-type LOCAL \(match) --dport \(nodePort) -j REJECT"
                    )
                }
                continue
            }
            let local = service.endpoints.filter(\.local)
            chains.append(svc)
            nat.append(
                "-A KUBE-SERVICES -m comment --comment \"\(name) cluster IP\" \(match) -d \(service.clusterIP) --dport \(service.port) -j \(svc)"
            )
            nat.append(
                "-A \(svc) -m comment --comment \"\(name) cluster IP\" \(match) -d \(service.clusterIP) --dport \(service.port) ! -s \(clusterCIDR) -j KUBE-MARK-MASQ"
            )
            nat += spread(service.endpoints, from: svc, service: service, largeCluster: largeCluster)
            if let nodePort = service.nodePort {
                chains.append(ext)
                nat.append("-A KUBE-NODEPORTS -m comment --comment \(quoted(name)) \(match) --dport \(nodePort) -j \(ext)")
                if service.externalLocal {
                    nat.append(
                        "-A \(ext) -m comment --comment \"pod traffic for \(name) external destinations\" -s \(clusterCIDR) -j \(svc)")
                    nat.append(
                        "-A \(ext) -m comment --comment \"masquerade LOCAL traffic for \(name) external destinations\" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ"
                    )
                    nat.append(
                        "-A \(ext) -m comment --comment \"route LOCAL traffic for \(name) external destinations\" -m addrtype --src-type LOCAL -j \(svc)"
                    )
                    if local.isEmpty {
                        filter.append(
                            "-A KUBE-EXTERNAL-SERVICES -m comment --comment \"\(name) has no local endpoints\" -m addrtype --dst-type LOCAL \(match) --dport \(nodePort) -j DROP"
                        )
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
        lines += ["KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL"].map {
            ":\($0) - [0:0]"
        }
        lines += filter
        // route_localnet, which this rule guards, is IPv4's: the IPv6 proxier writes no such rule.
        let ipv6 = services.first?.clusterIP.contains(":") == true
        if !ipv6 {
            lines.append(
                "-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
            )
        }
        lines += [
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
        lines.append(
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"
        )
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
    static func spread(
        _ endpoints: [ProxiedServicePort.Endpoint], from chain: String, service: ProxiedServicePort, largeCluster: Bool
    ) -> [String] {
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
}

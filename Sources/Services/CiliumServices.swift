import Cilium
import NetAddress
import NodeFiles

/// Cilium's kube-proxy replacement read back: its load balancer's maps (services, backends) as a
/// ServiceTable, frontends grouped by their reverse-NAT index (one per Service port), each with
/// the backends the datapath chooses from (slots 1 to count). The maps carry no names: entries
/// are named by their frontend, as IPVS's are. Flags as bpf/lib/common.h defines them in 1.14
/// to 1.18 (docs/cilium.md).
enum CiliumServices {
    /// SVC_FLAG_* (the master entry's `flags`).
    static let externalIP: UInt8 = 0x01, nodePort: UInt8 = 0x02, externalLocal: UInt8 = 0x04, hostPort: UInt8 = 0x08
    static let loadBalancer: UInt8 = 0x20
    /// SVC_FLAG2_LOCALREDIRECT (`flags2`).
    static let localRedirect: UInt8 = 0x01

    static func table(_ cilium: CiliumDatapath) -> (table: ServiceTable?, problems: [String]) {
        var frontends: [CiliumFrontend] = []
        var problems: [String] = []
        for ipv6 in [false, true] {
            switch cilium.loadBalancer(ipv6: ipv6) {
            case .success(let found): frontends += found
            case .failure(let error):
                // A node without IPv6 has no lb6 maps: not a problem.
                if ipv6, error.description.contains("no BPF map pinned") { continue }
                problems.append("Cilium's IPv\(ipv6 ? 6 : 4) load balancer: \(error)")
            }
        }
        guard !frontends.isEmpty || problems.isEmpty else { return (nil, problems) }
        var table = ServiceTable(mode: .cilium, entries: entries(frontends))
        table.readFrom = "Cilium's maps: \(CiliumDatapath.globals)/cilium_lb{4,6}_services_v2, cilium_lb{4,6}_backends_v3"
        table.problems = problems
        table.notes = [
            "Cilium's maps carry no Service names: entries are named by their frontend (cilium-dbg service list shows the names)"
        ]
        return (table, [])
    }

    /// One entry per Service port (reverse-NAT index and protocol), its frontends of the external
    /// scope (the internal one, for a Local traffic policy, repeats them).
    /// Cilium gives each frontend its own index, so a NodePort's surrogate (0.0.0.0) and each node
    /// address are grouped by the port, protocol and backends they share: one Service port.
    static func entries(_ frontends: [CiliumFrontend]) -> [ServiceEntry] {
        // A Local traffic policy's internal scope (1): the backends pods may still reach.
        let internalScope = Dictionary(
            frontends.filter { $0.scope == 1 }.map { ("\($0.address)/\($0.port)/\($0.protocolNumber)", $0) },
            uniquingKeysWith: { a, _ in a })
        let grouped = Dictionary(grouping: frontends.filter { $0.scope == 0 }) { frontend -> String in
            let backends = frontend.backends.map { "\($0.address)/\($0.port)" }.sorted().joined(separator: ",")
            return frontend.flags & nodePort != 0
                ? "nodePort \(frontend.port)/\(frontend.protocolNumber)/\(frontend.address.isIPv4)/\(backends)"
                : "\(frontend.revNatIndex)/\(frontend.protocolNumber)"
        }
        return grouped.values.compactMap { group -> ServiceEntry? in
            guard let first = group.first else { return nil }
            var frontendsSeen: [ServiceFrontend] = []
            for frontend in group {
                guard let kind = kind(frontend) else { continue }
                if !frontendsSeen.contains(kind) { frontendsSeen.append(kind) }
            }
            let local = first.flags & externalLocal != 0
            var backends = first.backends.filter { $0.state == 0 }
            // No backend of this node for outside traffic; pods still reach the internal scope's.
            let noneLocal = local && backends.isEmpty
            if noneLocal {
                backends = internalScope["\(first.address)/\(first.port)/\(first.protocolNumber)"]?.backends.filter { $0.state == 0 } ?? []
            }
            let share = backends.isEmpty ? nil : 1.0 / Double(backends.count)
            let endpoints = backends.map {
                ServiceEndpoint(address: $0.address, port: $0.port, share: share, rule: "cilium backend \($0.id)")
            }
            let proto = protocolName(first.protocolNumber, backends: first.backends)
            var evidence = group.map {
                "frontend \(ServiceFrontend.join($0.address, $0.port)) rev-NAT \($0.revNatIndex), flags 0x\(String($0.flags, radix: 16)): \($0.backends.count) backend\($0.backends.count == 1 ? "" : "s")"
            }
            if !first.missingBackends.isEmpty { evidence.append("slots naming backends the backends map lacks: \(first.missingBackends)") }
            return ServiceEntry(
                name: nil, proto: proto, frontends: frontendsSeen, endpoints: endpoints,
                disposition: noneLocal ? .noLocalEndpoints : (endpoints.isEmpty ? .noEndpoints : .endpoints), localPolicy: local,
                evidence: evidence)
        }
        // Each label made once, not twice per comparison.
        .map { ($0.label, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// The frontend as a Service's: NodePort (its surrogate 0.0.0.0 and each node address alike),
    /// LoadBalancer, ExternalIP, else ClusterIP; host ports and local-redirect policies are not
    /// Services' frontends.
    static func kind(_ frontend: CiliumFrontend) -> ServiceFrontend? {
        if frontend.flags2 & localRedirect != 0 || frontend.flags & hostPort != 0 { return nil }
        if frontend.flags & nodePort != 0 { return .nodePort(frontend.port) }
        if frontend.flags & loadBalancer != 0 { return .loadBalancerIP(frontend.address, frontend.port) }
        if frontend.flags & externalIP != 0 { return .externalIP(frontend.address, frontend.port) }
        return .clusterIP(frontend.address, frontend.port)
    }

    /// The key's protocol (1.17 on; 0 before, when the backends' tell).
    static func protocolName(_ number: UInt8, backends: [CiliumBackend]) -> String {
        let known: [UInt8: String] = [6: "tcp", 17: "udp", 132: "sctp"]
        return known[number] ?? backends.lazy.compactMap { known[$0.protocolNumber] }.first ?? "any"
    }
}

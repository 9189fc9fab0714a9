import Checks
import Cilium
import ConfigFormats
import Diagnosis
import Firewall

/// `netdoctor policy POD`: the NetworkPolicies that select the pod on this node, per direction,
/// as its policy engine programmed them (Calico's endpoint chains and tiers, kube-router's pod
/// chain), with the counters of the jumps into each policy and of the rules that drop what no
/// policy allowed.
public struct PolicyReport: Report {
    public let command = "policy"
    public var pod: String
    public var address: String?
    public var hostInterface: String?
    /// The pod's enforcement points, from PolicyChains over the node's rules.
    public var endpoints: [PolicyEndpoint]
    /// Every rule of the node, to count jumps and list each policy's rules.
    public var rules: [FirewallRule]
    public var findings: [Finding]
    /// Userspace engines that judge the pod's new connections (kube-network-policies): their
    /// policies are not in the firewall, only the queue is.
    public var queuedBy: [QueuedPolicy]
    /// On a Cilium node: the pod's endpoint and its policy map's entries, as the datapath has them.
    public var cilium: CiliumPolicyView?

    /// The pod's endpoint (cilium_lxc) and its policy map, or why they could not be read.
    public struct CiliumPolicyView: Sendable {
        public var endpoint: CiliumEndpoint?
        public var map: String?
        public var entries: [CiliumPolicyEntry]
        public var problem: String?

        public init(endpoint: CiliumEndpoint?, map: String?, entries: [CiliumPolicyEntry], problem: String?) {
            self.endpoint = endpoint
            self.map = map
            self.entries = entries
            self.problem = problem
        }
    }

    public init(pod: String, address: String?, hostInterface: String?, rules: [FirewallRule]?, queued: [QueuedPolicy] = []) {
        self.pod = pod
        self.address = address
        self.hostInterface = hostInterface
        self.rules = rules ?? []
        queuedBy = queued.filter { policy in address.map(policy.podAddresses.contains) == true }
        let all = PolicyChains.endpoints(in: rules ?? [])
        let short = pod.split(separator: "/").last.map(String.init) ?? pod
        endpoints = all.filter { endpoint in
            if let interface = endpoint.interface { return interface == hostInterface }
            if let owner = endpoint.pod { return owner == pod || owner.hasSuffix("/" + short) && !pod.contains("/") }
            return false
        }
        findings = FirewallDrop.unreadable([rules], labels: ["node"])
    }

    /// The rules of a chain, in order.
    func chain(_ table: String, _ name: String) -> [FirewallRule] {
        rules.filter { $0.table == table && $0.chain == name && $0.origin != .iptablesPolicy }
    }

    /// Packets that reached a policy: the counter of the jump into its chain from the endpoint's
    /// chain, or from the policy group chain that holds it.
    func evaluated(_ policy: ProgrammedPolicy, from endpoint: PolicyEndpoint) -> UInt64? {
        chain(endpoint.table, policy.group ?? endpoint.chain).first { $0.jumpTarget == policy.chain }?.packets
    }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("pod", .string(pod)), ("address", .text(address)), ("hostInterface", .text(hostInterface)),
            ("selected", .bool(endpoints.contains { !$0.selecting.isEmpty } || !queuedBy.isEmpty)),
            ("endpoints", .array(endpoints.map(json))),
            (
                "queuedBy",
                .array(
                    queuedBy.map {
                        .fields([
                            "engine": .string($0.engine), "table": .string($0.table), "queue": .int(Int($0.queue)),
                            "bypass": .bool($0.bypass),
                        ])
                    })
            ),
        ] + (cilium.map { [("cilium", ciliumJSON($0))] } ?? [])
    }

    func ciliumJSON(_ view: CiliumPolicyView) -> ConfigValue {
        .fields([
            ("endpointID", view.endpoint.map { .int(Int($0.endpointID)) } ?? .null),
            ("identity", view.endpoint.map { .int(Int($0.identity)) } ?? .null), ("map", .text(view.map)),
            ("problem", .text(view.problem)),
            (
                "entries",
                .array(
                    view.entries.map { entry in
                        .fields([
                            ("direction", .string(entry.egress ? "egress" : "ingress")), ("identity", .int(Int(entry.identity))),
                            ("protocol", entry.protocolNumber.map { .int(Int($0)) } ?? .null),
                            ("ports", entry.ports.map { .string("\($0.lowerBound)-\($0.upperBound)") } ?? .null),
                            ("deny", .bool(entry.deny)), ("proxyPort", .int(Int(entry.proxyPort))),
                            ("packets", entry.packets.map { .int(Int(clamping: $0)) } ?? .null),
                        ])
                    })
            ),
        ])
    }

    func json(_ endpoint: PolicyEndpoint) -> ConfigValue {
        let policy = { (policy: ProgrammedPolicy) -> ConfigValue in
            .fields([
                "kind": .text(policy.kind), "namespace": .text(policy.namespace), "name": .string(policy.name),
                "direction": .text(policy.direction?.rawValue), "chain": .string(policy.chain), "group": .text(policy.group),
                "evaluatedPackets": evaluated(policy, from: endpoint).map { .int(Int($0)) } ?? .null,
                "rules": .array(chain(endpoint.table, policy.chain).map(ruleJSON)),
            ])
        }
        return .fields([
            ("engine", .string(endpoint.engine.rawValue)), ("table", .string(endpoint.table)), ("chain", .string(endpoint.chain)),
            ("direction", .text(endpoint.direction?.rawValue)),
            (
                "tiers",
                .array(
                    endpoint.tiers.map { tier in
                        .fields([
                            "name": .string(tier.name), "policies": .array(tier.policies.map(policy)),
                            "defaultDeny": tier.dropRule.map(ruleJSON) ?? .null,
                        ])
                    })
            ),
            ("policies", .array(endpoint.policies.map(policy))),
            ("profiles", .texts(endpoint.profiles)),
            ("defaultDeny", endpoint.defaultDrop.map(ruleJSON) ?? .null),
            ("profileDrop", endpoint.profileDrop.map(ruleJSON) ?? .null),
        ])
    }

    func ruleJSON(_ rule: FirewallRule) -> ConfigValue {
        .fields(["rule": .string(rule.text), "packets": .int(Int(clamping: rule.packets)), "bytes": .int(Int(clamping: rule.bytes))])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        var head: [(label: String, value: String)] = [("address", address ?? "?"), ("host side", hostInterface ?? "?")]
        for queued in queuedBy {
            head.append(
                (
                    "queued",
                    "\(queued.engine) judges its new connections in userspace (NFQUEUE \(queued.queue)\(queued.bypass ? ", bypass" : ""), \(queued.table)); its policies are not in the firewall: its logs name them"
                ))
        }
        if endpoints.isEmpty && queuedBy.isEmpty && cilium == nil {
            head.append(
                (
                    "policy",
                    "no policy engine's chains for this pod (Calico and kube-router looked for; Cilium and Antrea keep policy out of the firewall)"
                ))
        }
        var sections = [HumanSection("NetworkPolicy of \(pod)", rows: head)]
        for endpoint in endpoints {
            var rows: [(label: String, value: String)] = [("chain", "\(endpoint.table) \(endpoint.chain)")]
            let policyRow = { (policy: ProgrammedPolicy) -> (String, String) in
                let count = self.evaluated(policy, from: endpoint).map { "\($0) packets evaluated" } ?? "not counted"
                return (
                    "  " + (policy.direction?.rawValue ?? "policy"),
                    "\(policy.title)  (chain \(policy.chain)\(policy.group.map { " via group \($0)" } ?? ""), \(count))"
                )
            }
            for tier in endpoint.tiers {
                rows.append(("tier \(tier.name)", tier.policies.isEmpty ? "no policy selects it" : "\(tier.policies.count) selecting"))
                rows += tier.policies.map(policyRow)
                if let drop = tier.dropRule {
                    rows.append(("  default deny", "\(drop.packets) packets dropped (End of tier \(tier.name))"))
                }
            }
            if endpoint.engine == .calico, endpoint.tiers.isEmpty { rows.append(("policies", "none select it: its profiles decide")) }
            rows += endpoint.policies.map(policyRow)
            if !endpoint.profiles.isEmpty { rows.append(("profiles", endpoint.profiles.joined(separator: ", "))) }
            if let drop = endpoint.defaultDrop ?? endpoint.profileDrop {
                rows.append((endpoint.defaultDrop != nil ? "default deny" : "no profile", "\(drop.packets) packets dropped"))
            }
            let title =
                "\(endpoint.engine == .calico ? "Calico" : "kube-router") \(endpoint.direction.map { $0.rawValue } ?? "ingress and egress")"
            sections.append(HumanSection(title, rows: rows))
        }
        if let cilium {
            var rows: [(label: String, value: String)] = []
            if let endpoint = cilium.endpoint {
                rows.append(("endpoint", "\(endpoint.endpointID), identity \(endpoint.identity)\(cilium.map.map { ", map \($0)" } ?? "")"))
            }
            if let problem = cilium.problem { rows.append(("", problem)) }
            rows += cilium.entries.map { ("  entry", $0.summary) }
            if cilium.problem == nil, cilium.entries.isEmpty {
                rows.append(("", "no entry: the datapath allows nothing it enforces for this endpoint"))
            }
            sections.append(HumanSection("Cilium (its policy map, as the datapath reads it)", rows: rows))
        }
        return sections
    }
}

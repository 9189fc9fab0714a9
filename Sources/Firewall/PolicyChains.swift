/// NetworkPolicy as a policy engine programmed it into the firewall, read back from the rules:
/// which policies select a pod in each direction, and which rule ends a packet none of them
/// allowed. Chain names are hashed by the engines, so identities come from their comments
/// (SERVICES-POLICY-DNS.md §2.1, §2.2, §8.2):
///
/// - Calico (felix, iptables or nftables dataplane): per workload interface a `cali-tw-<iface>`
///   (ingress) and `cali-fw-<iface>` (egress) chain; per tier a "Start of tier T" rule, jumps to
///   `cali-pi-…`/`cali-po-…` policy chains whose first rule carries "<Kind> <ns>/<name>
///   ingress|egress" (older felix: "Policy <name> ingress"), then "End of tier T. Drop if no
///   policies passed packet"; then profiles (`cali-pri-`/`cali-pro-`) and "Drop if no profiles
///   matched". An explicit Deny is a DROP inside a policy chain. From felix 3.28 consecutive
///   policies of one selector sit in a policy group chain (`cali-gi-`/`cali-go-` and a 20-character
///   hash: no names) that the endpoint chain jumps to and that alone jumps to their policy chains;
///   a group of one policy is inlined (felix/rules/endpoints.go, PolicyGroupToIptablesChains).
/// - kube-router: per pod a `KUBE-POD-FW-…` chain jumping to `KUBE-NWPLCY-…` chains with
///   "<ns>/<name> policy" comments (`-d pod` ingress, `-s pod` egress), ending in
///   "<ns>/<pod> reject" for packets no policy marked.
public enum PolicyEngine: String, Sendable, Equatable {
    case calico
    case kubeRouter = "kube-router"
}

public enum PolicyDirection: String, Sendable, Equatable {
    case ingress, egress
}

/// One NetworkPolicy (or Calico policy) as its chain names it.
public struct ProgrammedPolicy: Sendable, Equatable {
    /// KubernetesNetworkPolicy, NetworkPolicy, GlobalNetworkPolicy, …; nil where the comment
    /// does not say (older felix, kube-router's "policy" comments: a Kubernetes NetworkPolicy).
    public var kind: String?
    public var namespace: String?
    public var name: String
    public var direction: PolicyDirection?
    public var chain: String
    /// The policy group chain (felix 3.28+: `cali-gi-…`/`cali-go-…`) the endpoint's chain reaches
    /// it through; nil: jumped to from the endpoint's chain itself.
    public var group: String? = nil

    /// "KubernetesNetworkPolicy default/allow-web".
    public var title: String {
        (kind.map { $0 + " " } ?? "") + (namespace.map { "\($0)/" } ?? "") + name
    }
}

/// One pod's enforcement point: the chain that judges its traffic in one direction (Calico) or
/// both (kube-router), what selects it there, and the rules that drop what nothing allowed.
public struct PolicyEndpoint: Sendable, Equatable {
    public struct Tier: Sendable, Equatable {
        public var name: String
        public var policies: [ProgrammedPolicy]
        /// "End of tier T. Drop if no policies passed packet".
        public var dropRule: FirewallRule?
    }

    public var engine: PolicyEngine
    public var table: String
    public var chain: String
    /// Calico: the workload's host interface; kube-router: nil (the chain is per pod).
    public var interface: String?
    /// kube-router: the pod the chain is for, from its reject comment ("<ns>/<pod>").
    public var pod: String?
    /// nil: both directions (kube-router's pod chain).
    public var direction: PolicyDirection?
    public var tiers: [Tier] = []
    /// Calico's profiles (kns.<namespace>, ksa.<namespace>.<serviceaccount>) and their drop.
    public var profiles: [String] = []
    public var profileDrop: FirewallRule?
    /// kube-router: the policies its pod chain jumps to, and its reject.
    public var policies: [ProgrammedPolicy] = []
    public var defaultDrop: FirewallRule?

    /// Every policy that selects the endpoint, tier by tier.
    public var selecting: [ProgrammedPolicy] { tiers.flatMap(\.policies) + policies }

    /// The tier the chain is in at this rule (felix's "default" when no tier rule came first).
    var currentTier: Tier {
        get { tiers.last ?? Tier(name: "default", policies: []) }
        set { if tiers.isEmpty { tiers.append(newValue) } else { tiers[tiers.count - 1] = newValue } }
    }
}

/// Why a policy engine's rule dropped a packet.
public enum PolicyDenial: Sendable, Equatable {
    /// Policies select the pod in this direction and none allowed the packet (Kubernetes
    /// NetworkPolicy's only way to deny). `tier`: Calico's tier whose end dropped it.
    case defaultDeny(PolicyEndpoint, tier: String?, selecting: [ProgrammedPolicy])
    /// No policy selects the pod and no profile accepted (Calico's profiles).
    case noProfile(PolicyEndpoint)
    /// A rule of one policy denies it (Calico Deny, GlobalNetworkPolicy, …).
    case explicitDeny(ProgrammedPolicy, rule: FirewallRule, ruleID: String?)
}

public enum PolicyChains {
    /// The enforcement points the rules hold, in the order their chains appear.
    public static func endpoints(in rules: [FirewallRule]) -> [PolicyEndpoint] {
        let byChain = chains(rules)
        var seen: Set<ChainKey> = []
        var out: [PolicyEndpoint] = []
        for rule in rules where rule.origin != .iptablesPolicy {
            let key = ChainKey(table: rule.table, chain: rule.chain)
            guard seen.insert(key).inserted else { continue }
            if let endpoint = endpoint(key, all: byChain) { out.append(endpoint) }
        }
        return out
    }

    /// Why `rule` (one that dropped a packet) did, if it is a policy engine's.
    public static func explain(_ rule: FirewallRule, in rules: [FirewallRule]) -> PolicyDenial? {
        guard rule.origin != .iptablesPolicy else { return nil }
        let key = ChainKey(table: rule.table, chain: rule.chain)
        let byChain = chains(rules)
        if let policy = identity(of: key, rules: byChain[key] ?? []) {
            return .explicitDeny(policy, rule: rule, ruleID: rule.comments.first { $0.hasPrefix("cali:") })
        }
        guard let endpoint = endpoint(key, all: byChain) else { return nil }
        if let tier = endpoint.tiers.first(where: { $0.dropRule?.specification == rule.specification }) {
            return .defaultDeny(endpoint, tier: tier.name, selecting: tier.policies)
        }
        if endpoint.profileDrop?.specification == rule.specification { return .noProfile(endpoint) }
        if endpoint.defaultDrop?.specification == rule.specification {
            return .defaultDeny(endpoint, tier: nil, selecting: endpoint.policies)
        }
        return nil
    }

    struct ChainKey: Hashable {
        var table: String
        var chain: String
    }

    /// Each chain's rules in order (built-in chains' policies are no rules).
    static func chains(_ rules: [FirewallRule]) -> [ChainKey: [FirewallRule]] {
        Dictionary(grouping: rules.filter { $0.origin != .iptablesPolicy }) { ChainKey(table: $0.table, chain: $0.chain) }
    }

    /// The enforcement point a chain is, in whichever engine's layout it has.
    static func endpoint(_ key: ChainKey, all: [ChainKey: [FirewallRule]]) -> PolicyEndpoint? {
        let rules = all[key] ?? []
        return calicoEndpoint(key, rules: rules, all: all) ?? kubeRouterEndpoint(key, rules: rules)
    }

    /// A felix chain's name as its iptables dataplane writes it: the nftables dataplane puts
    /// every chain of its `calico` table behind the iptables table it stands for
    /// (`filter-cali-tw-cali12…`, `filter-cali-pi-_…`).
    static func felixName(_ chain: String) -> String {
        for prefix in ["filter-", "raw-", "mangle-", "nat-"] where chain.hasPrefix(prefix + "cali-") {
            return String(chain.dropFirst(prefix.count))
        }
        return chain
    }

    static func calicoEndpoint(_ key: ChainKey, rules: [FirewallRule], all: [ChainKey: [FirewallRule]]) -> PolicyEndpoint? {
        let name = felixName(key.chain)
        let direction: PolicyDirection
        if name.hasPrefix("cali-tw-") {
            direction = .ingress
        } else if name.hasPrefix("cali-fw-") {
            direction = .egress
        } else {
            return nil
        }
        var endpoint = PolicyEndpoint(
            engine: .calico, table: key.table, chain: key.chain, interface: String(name.dropFirst(8)), direction: direction)
        for rule in rules {
            let comments = rule.comments
            // Felix with tiers: "Start of tier T"; without (OSS before tiers came to it): "Start of policies".
            if let tier = comments.lazy.compactMap({ $0.dropping(prefix: "Start of tier ") }).first {
                endpoint.tiers.append(.init(name: tier, policies: []))
            } else if comments.contains("Start of policies") {
                endpoint.tiers.append(.init(name: "default", policies: []))
            } else if comments.contains(where: { $0.hasSuffix(" if no policies passed packet") }), rule.drops {
                // "End of tier T. Drop if no policies passed packet", or plain "Drop if no policies passed packet".
                endpoint.currentTier.dropRule = rule
            } else if comments.contains("Drop if no profiles matched"), rule.drops {
                endpoint.profileDrop = rule
            } else if let target = rule.jumpTarget {
                let targetName = felixName(target)
                if targetName.hasPrefix("cali-pri-") || targetName.hasPrefix("cali-pro-") {
                    endpoint.profiles.append(String(targetName.dropFirst(9)))
                } else {
                    endpoint.currentTier.policies += policies(reachedBy: target, table: key.table, all: all)
                }
            }
        }
        return endpoint
    }

    /// The policy chains a jump from an endpoint chain reaches: the target itself when it is
    /// one, else those its rules jump to when it is a chain felix puts between the endpoint and
    /// its policies (a policy group), followed to a bounded depth.
    static func policies(
        reachedBy target: String, table: String, all: [ChainKey: [FirewallRule]], group: String? = nil,
        depth: Int = 0
    ) -> [ProgrammedPolicy] {
        let key = ChainKey(table: table, chain: target)
        let name = felixName(target)
        if name.hasPrefix("cali-pi-") || name.hasPrefix("cali-po-") {
            guard var policy = identity(of: key, rules: all[key] ?? []) else { return [] }
            policy.group = group
            return [policy]
        }
        // Only felix's own chains (cali-gi-/cali-go- today); never back to an endpoint or profile.
        guard depth < 3, name.hasPrefix("cali-"), !name.hasPrefix("cali-tw-"), !name.hasPrefix("cali-fw-"),
            !name.hasPrefix("cali-pri-"), !name.hasPrefix("cali-pro-"), let rules = all[key]
        else { return [] }
        return rules.compactMap(\.jumpTarget).filter { $0 != target }.flatMap {
            policies(reachedBy: $0, table: table, all: all, group: target, depth: depth + 1)
        }
    }

    static func kubeRouterEndpoint(_ key: ChainKey, rules: [FirewallRule]) -> PolicyEndpoint? {
        guard key.chain.hasPrefix("KUBE-POD-FW-") else { return nil }
        var endpoint = PolicyEndpoint(engine: .kubeRouter, table: key.table, chain: key.chain)
        for rule in rules {
            let comments = rule.comments
            if rule.drops, let pod = comments.lazy.compactMap(kubeRouterRejectedPod).first {
                endpoint.pod = pod
                endpoint.defaultDrop = rule
            } else if let target = rule.jumpTarget, target.hasPrefix("KUBE-NWPLCY-"),
                !["KUBE-NWPLCY-DEFAULT", "KUBE-NWPLCY-COMMON", "KUBE-NWPLCY-TAIL"].contains(target)
            {
                // Since 2026-07: "<ns>/<name> policy"; before: "run through nw policy <name>" (a
                // NetworkPolicy selects pods of its own namespace: the pod's, filled in below).
                let named =
                    comments.lazy.compactMap { $0.dropping(suffix: " policy").flatMap(namespaced) }.first
                    ?? comments.lazy.compactMap {
                        $0.dropping(prefix: "run through nw policy ").map { (namespace: String?.none, name: $0) }
                    }.first
                // To the pod (iptables -d, nft ip daddr): ingress; from it: egress.
                let direction: PolicyDirection? =
                    rule.argument("-d") != nil || rule.specification.containsBytes(" daddr ")
                    ? .ingress
                    : rule.argument("-s") != nil || rule.specification.containsBytes(" saddr ") ? .egress : nil
                endpoint.policies.append(
                    ProgrammedPolicy(
                        kind: "NetworkPolicy", namespace: named?.namespace, name: named?.name ?? "(unnamed: chain \(target))",
                        direction: direction, chain: target))
            }
        }
        if let namespace = endpoint.pod.flatMap(namespaced)?.namespace {
            for i in endpoint.policies.indices where endpoint.policies[i].namespace == nil { endpoint.policies[i].namespace = namespace }
        }
        return endpoint
    }

    /// The pod a kube-router reject rule is for: "<ns>/<pod> reject" (since 2026-07), or "rule to
    /// REJECT traffic destined for POD name:<pod> namespace: <ns>" (before).
    static func kubeRouterRejectedPod(_ comment: String) -> String? {
        if let pod = comment.dropping(suffix: " reject"), namespaced(pod)?.namespace != nil { return pod }
        guard let rest = comment.dropping(prefix: "rule to REJECT traffic destined for POD name:") else { return nil }
        let parts = rest.split(separator: " ")
        guard parts.count == 3, parts[1] == "namespace:" else { return nil }
        return "\(parts[2])/\(parts[0])"
    }

    /// A policy chain's identity: the first rule's comment "<Kind> <ns>/<name> ingress|egress"
    /// (or "<Kind> <name> …" cluster-scoped), or older felix's "Policy <name> ingress". Felix
    /// releases that wrote no identity comment named the chain after the policy when it fit
    /// (`cali-pi-default.database`: tier.name); a hashed name (`cali-pi-_…`) says nothing.
    static func identity(of key: ChainKey, rules: [FirewallRule]) -> ProgrammedPolicy? {
        let name = felixName(key.chain)
        guard name.hasPrefix("cali-pi-") || name.hasPrefix("cali-po-") else { return nil }
        let direction: PolicyDirection = name.hasPrefix("cali-pi-") ? .ingress : .egress
        if let commented = commentedIdentity(of: key, rules: rules) { return commented }
        let suffix = String(name.dropFirst(8))
        let policyName =
            suffix.hasPrefix("_") || suffix.isEmpty ? "(unnamed: felix hashed the chain's name and wrote no identity comment)" : suffix
        return ProgrammedPolicy(kind: nil, namespace: nil, name: policyName, direction: direction, chain: key.chain)
    }

    static func commentedIdentity(of key: ChainKey, rules: [FirewallRule]) -> ProgrammedPolicy? {
        for rule in rules.prefix(3) {
            for comment in rule.comments {
                let words = comment.split(separator: " ").map(String.init)
                guard words.count == 3, let direction = PolicyDirection(rawValue: words[2]),
                    words[0].utf8.allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") })
                else { continue }
                let named = namespaced(words[1])
                return ProgrammedPolicy(
                    kind: words[0] == "Policy" ? nil : words[0], namespace: named?.namespace, name: named?.name ?? words[1],
                    direction: direction, chain: key.chain)
            }
        }
        return nil
    }

    /// "ns/name" split; "name" alone has no namespace.
    static func namespaced(_ text: String) -> (namespace: String?, name: String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return parts[0].isEmpty ? nil : (nil, String(parts[0]))
        case 2: return parts[0].isEmpty || parts[1].isEmpty ? nil : (String(parts[0]), String(parts[1]))
        default: return nil
        }
    }
}

extension String {
    func dropping(prefix: String) -> String? { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil }
    func dropping(suffix: String) -> String? { hasSuffix(suffix) && count > suffix.count ? String(dropLast(suffix.count)) : nil }
}

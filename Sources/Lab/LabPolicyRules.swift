/// Whose NetworkPolicy chains the calico topology's nodes carry.
public enum LabPolicyEngine: String, Sendable, CaseIterable {
    /// felix's iptables dataplane (iptables-nft's filter table).
    case calico
    /// felix's nftables dataplane: the same chains in a native `ip calico` table, every rule counted.
    case calicoNftables = "calico-nftables"
    /// kube-router's network policy controller (iptables).
    case kubeRouter = "kube-router"
    /// kube-network-policies: new connections of selected pods judged in userspace (NFQUEUE 100).
    case kubeNetworkPolicies = "kube-network-policies"
}

/// A NetworkPolicy the lab programs (a fault adds one): whom it selects, in which direction,
/// and what it allows or denies.
public struct LabPolicy: Sendable, Equatable {
    public struct Port: Sendable, Equatable {
        public var proto: String
        public var port: Int
    }

    public var kind: String
    public var namespace: String?
    public var name: String
    public var ingress: Bool
    public var selects: [String]
    public var allows: [Port]
    /// Calico's Deny action: only Calico's own kinds have it.
    public var denies: [Port] = []

    /// Felix's policy ID and its chain: prefix + the ID, hashed as felix does for IDs too long
    /// for iptables' 28-character chain names (the lab always hashes, as long names are the rule).
    var calicoChain: String {
        let id = (namespace.map { "\($0)/" } ?? "") + (kind == "KubernetesNetworkPolicy" ? "knp.default.\(name)" : "default.\(name)")
        return (ingress ? "cali-pi-_" : "cali-po-_") + String(LabPlan.hexDigits(for: id).prefix(19))
    }

    /// felix's identity comment: "<Kind> <ns>/<name> ingress|egress".
    var identity: String {
        "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name) \(ingress ? "ingress" : "egress")"
    }

    /// kube-router's chain: KUBE-NWPLCY- and 16 base32 characters of a hash of namespace and name.
    var kubeRouterChain: String { "KUBE-NWPLCY-" + LabPolicyRules.base32(LabPlan.hexDigits(for: "\(namespace ?? "")\(name)"), count: 16) }

    /// The policies lab faults add, by fault.
    public static let defaultDeny = LabPolicy(
        kind: "KubernetesNetworkPolicy", namespace: "default", name: "deny-all", ingress: true,
        selects: ["pod-a"], allows: [])
    public static let wrongPort = LabPolicy(
        kind: "KubernetesNetworkPolicy", namespace: "default", name: "allow-8080", ingress: true,
        selects: ["pod-a"], allows: [Port(proto: "tcp", port: 8080)])
    public static let explicitDeny = LabPolicy(
        kind: "GlobalNetworkPolicy", namespace: nil, name: "deny-web-egress", ingress: false,
        selects: ["pod-b"], allows: [], denies: [Port(proto: "tcp", port: 80)])
    /// lab break POLICY_DENIED --node node2: the same on pod-c, for a drop only node2's agent sees.
    public static let defaultDenyRemote = LabPolicy(
        kind: "KubernetesNetworkPolicy", namespace: "default", name: "deny-all-c", ingress: true,
        selects: ["pod-c"], allows: [])
    /// lab break POLICY_DENIED_PORT's second policy: the same selector as allow-8080, so felix
    /// 3.28+ puts the two in one policy group chain.
    public static let metricsPort = LabPolicy(
        kind: "KubernetesNetworkPolicy", namespace: "default", name: "allow-metrics", ingress: true,
        selects: ["pod-a"], allows: [Port(proto: "tcp", port: 9100)])
    public static let all = [defaultDeny, wrongPort, explicitDeny, defaultDenyRemote, metricsPort]
    public static func named(_ name: String) -> LabPolicy? { all.first { $0.name == name } }
}

/// A pod as the policy engines see it: its host interface and address.
struct LabWorkload: Sendable, Equatable {
    var pod: String
    var interface: String
    var address: String
}

/// The policy engines' filter rules, rendered as each engine writes them: felix's chains
/// (iptables-restore input, or an nft script for its nftables dataplane) and kube-router's.
/// Pure: tests compare them with what PolicyChains reads back.
enum LabPolicyRules {
    static let acceptMark = "0x10000/0x10000"

    /// felix's filter chains as iptables-restore --noflush input (the chains it declares are
    /// flushed and rewritten; FORWARD's jumps are added once, by `forwardJumps`).
    static func calicoIptables(_ workloads: [LabWorkload], policies: [LabPolicy]) -> String {
        restoreInput("filter", calicoChains(workloads, policies: policies))
    }

    /// Chains as iptables-restore --noflush input for one table: each declared (so flushed) and
    /// written rule by rule.
    static func restoreInput(_ table: String, _ chains: [Chain]) -> String {
        var lines = ["*\(table)"] + chains.map { ":\($0.name) - [0:0]" }
        for chain in chains { lines += chain.rules.map { "-A \(chain.name) \(iptables($0))" } }
        return (lines + ["COMMIT", ""]).joined(separator: "\n")
    }

    static let calicoForwardJumps = [
        ["-m", "comment", "--comment", "cali:wUHhoiAYhphO9Mso", "-j", "cali-FORWARD"],
        [
            "-m", "comment", "--comment", "cali:S93hcgKJrXEqnTfs", "-m", "comment", "--comment", "Policy explicitly accepted packet.",
            "-m", "mark", "--mark", acceptMark, "-j", "ACCEPT",
        ],
    ]

    /// felix's nftables dataplane: the same chains in `table ip calico`, each named after the
    /// iptables table it stands for (`filter-cali-tw-…`), the workload dispatch as verdict maps
    /// keyed by interface (`filter-cali-from-wl-dispatch`), a base chain on the forward hook, a
    /// counter on every rule. The table is replaced whole.
    static func calicoNftables(_ workloads: [LabWorkload], policies: [LabPolicy]) -> String {
        let prefix = "filter-"
        var lines = ["table ip calico", "delete table ip calico", "table ip calico {"]
        for (map, direction) in [("cali-from-wl-dispatch", "fw"), ("cali-to-wl-dispatch", "tw")] {
            let elements = workloads.map { "\"\($0.interface)\" : goto \(prefix)cali-\(direction)-\($0.interface)" }
            lines +=
                ["  map \(prefix)\(map) {", "    type ifname : verdict;"]
                + (elements.isEmpty ? [] : ["    elements = { " + elements.joined(separator: ", ") + " }"]) + ["  }"]
        }
        lines += [
            "  chain \(prefix)FORWARD {", "    type filter hook forward priority filter; policy accept;",
            "    counter jump \(prefix)cali-FORWARD comment \"cali:wUHhoiAYhphO9Mso\"",
            "    meta mark & 0x10000 == 0x10000 counter accept comment \"Policy explicitly accepted packet.\"", "  }",
        ]
        for chain in calicoChains(workloads, policies: policies) {
            lines.append("  chain \(prefix)\(chain.name) {")
            if chain.name.hasSuffix("-wl-dispatch") {
                // A dispatch chain looks the interface up in its map, then drops what is unknown.
                let key = chain.name.hasPrefix("cali-from") ? "iifname" : "oifname"
                lines.append("    counter \(key) vmap @\(prefix)\(chain.name)")
                lines += chain.rules.filter { $0.match.isEmpty }.map { "    " + nft($0, chainPrefix: prefix) }
            } else {
                lines += chain.rules.map { "    " + nft($0, chainPrefix: prefix) }
            }
            lines.append("  }")
        }
        return (lines + ["}", ""]).joined(separator: "\n")
    }

    /// One rule in engine-neutral words, rendered per dataplane.
    struct Rule {
        var match: [Match] = []
        var comments: [String] = []
        var verdict: Verdict
    }

    enum Match {
        case inInterface(String), outInterface(String), established, invalid, markClear, markSet, destination(String), source(String)
        case port(proto: String, port: Int)
        /// felix's accept and pass bits both clear (no policy gave a verdict yet), or not.
        case noVerdict, verdictSet
    }

    enum Verdict {
        case accept, drop, ret, jump(String), goto(String), setMark, clearMark, clearTierMark, none
        /// kube-router's default deny (an ICMP port unreachable back), its rate-limited log, and
        /// kube-network-policies' hand-over to userspace.
        case reject, nflog(group: Int), queue(Int)
    }

    struct Chain {
        var name: String
        var rules: [Rule]
    }

    /// felix's chains for these workloads and policies (VXLAN mode, one tier "default").
    static func calicoChains(_ workloads: [LabWorkload], policies: [LabPolicy]) -> [Chain] {
        var chains = [
            Chain(
                name: "cali-FORWARD",
                rules: [
                    Rule(comments: ["cali:vjrMJCRpqwy5oRoX"], verdict: .clearTierMark),
                    Rule(match: [.inInterface("cali+")], comments: ["cali:8ZoYfO5HKXWbB3pk"], verdict: .jump("cali-from-wl-dispatch")),
                    Rule(match: [.outInterface("cali+")], comments: ["cali:jdEuaPBe14V2hutn"], verdict: .jump("cali-to-wl-dispatch")),
                ])
        ]
        chains.append(
            Chain(
                name: "cali-from-wl-dispatch",
                rules: workloads.map {
                    Rule(
                        match: [.inInterface($0.interface)], comments: ["cali:" + ruleID("fw-dispatch", $0.interface)],
                        verdict: .goto("cali-fw-\($0.interface)"))
                } + [Rule(comments: ["cali:zTj6P0TIgYvgz-md", "Unknown interface"], verdict: .drop)]))
        chains.append(
            Chain(
                name: "cali-to-wl-dispatch",
                rules: workloads.map {
                    Rule(
                        match: [.outInterface($0.interface)], comments: ["cali:" + ruleID("tw-dispatch", $0.interface)],
                        verdict: .goto("cali-tw-\($0.interface)"))
                } + [Rule(comments: ["cali:7KNphB1nNHw80nIO", "Unknown interface"], verdict: .drop)]))
        var groupChains: [Chain] = []
        for workload in workloads {
            for ingress in [true, false] {
                let selecting = policies.filter { $0.ingress == ingress && $0.selects.contains(workload.pod) }
                let groups = policyGroups(selecting, ingress: ingress)
                chains.append(
                    Chain(
                        name: "cali-\(ingress ? "tw" : "fw")-\(workload.interface)",
                        rules: endpointRules(workload, ingress: ingress, groups: groups)))
                for group in groups {
                    guard let name = group.chain, !groupChains.contains(where: { $0.name == name }) else { continue }
                    groupChains.append(Chain(name: name, rules: groupRules(group)))
                }
            }
        }
        chains += groupChains
        for ingress in [true, false] {
            let prefix = ingress ? "cali-pri-" : "cali-pro-"
            chains.append(
                Chain(
                    name: prefix + "kns.default",
                    rules: [
                        Rule(
                            comments: ["cali:" + ruleID(prefix, "kns"), "Profile kns.default \(ingress ? "ingress" : "egress")"],
                            verdict: .setMark),
                        Rule(match: [.markSet], comments: ["cali:" + ruleID(prefix, "kns-return")], verdict: .ret),
                    ]))
        }
        for policy in policies { chains.append(Chain(name: policy.calicoChain, rules: policyRules(policy))) }
        return chains
    }

    /// Policies of one tier and direction as felix 3.28+ groups them (endpoint_mgr.go
    /// groupPolicies): consecutive policies with the same selector share a group; a group of one
    /// is inlined (no chain), a larger one gets `cali-gi-`/`cali-go-` and 20 characters of a hash
    /// of what defines it (felix: SHA3-224 of tier, selector, direction and names, base64url).
    struct PolicyGroup {
        var policies: [LabPolicy]
        var chain: String?
    }

    static func policyGroups(_ policies: [LabPolicy], ingress: Bool) -> [PolicyGroup] {
        var runs: [[LabPolicy]] = []
        for policy in policies {
            if let last = runs.last?.last, last.selects == policy.selects {
                runs[runs.count - 1].append(policy)
            } else {
                runs.append([policy])
            }
        }
        return runs.map { run in
            guard run.count > 1 else { return PolicyGroup(policies: run, chain: nil) }
            let id =
                (["default", run[0].selects.joined(separator: ","), ingress ? "inbound" : "outbound", String(run.count)] + run.map(\.name))
                .joined(separator: "\n")
            return PolicyGroup(
                policies: run, chain: (ingress ? "cali-gi-" : "cali-go-") + ruleID(id, "group") + ruleID(id, "more").prefix(4))
        }
    }

    /// A policy group chain as felix writes it (PolicyGroupToIptablesChains): a jump per policy,
    /// every one after the first of each five only while no verdict is set, a "Return on verdict"
    /// between blocks of five. No comment names a policy: only the chains it jumps to do.
    static func groupRules(_ group: PolicyGroup) -> [Rule] {
        var rules: [Rule] = []
        for (i, policy) in group.policies.enumerated() {
            let id = "cali:" + ruleID(group.chain ?? "", "\(i)")
            if i > 0, i % 5 == 0 {
                rules.append(
                    Rule(
                        match: [.verdictSet], comments: ["cali:" + ruleID(group.chain ?? "", "ret\(i)"), "Return on verdict"], verdict: .ret
                    ))
            }
            rules.append(Rule(match: i % 5 == 0 ? [] : [.noVerdict], comments: [id], verdict: .jump(policy.calicoChain)))
        }
        return rules
    }

    /// A workload's endpoint chain: conntrack, then the tier (when policies select it: a jump per
    /// policy group, or per policy where it is inlined), then the namespace's profile.
    static func endpointRules(_ workload: LabWorkload, ingress: Bool, groups: [PolicyGroup]) -> [Rule] {
        let id = { (what: String) in "cali:" + ruleID("\(ingress)\(what)", workload.interface) }
        var rules = [
            Rule(match: [.established], comments: [id("est")], verdict: .accept),
            Rule(match: [.invalid], comments: [id("inv")], verdict: .drop),
            Rule(comments: [id("clr")], verdict: .clearMark),
        ]
        if !groups.isEmpty {
            rules.append(Rule(comments: [id("tier"), "Start of tier default"], verdict: .clearTierMark))
            for group in groups {
                let name = group.chain ?? group.policies[0].name
                rules.append(Rule(match: [.markClear], comments: [id(name)], verdict: .jump(group.chain ?? group.policies[0].calicoChain)))
                rules.append(Rule(match: [.markSet], comments: [id(name + "r"), "Return if policy accepted"], verdict: .ret))
            }
            rules.append(
                Rule(match: [.markClear], comments: [id("end"), "End of tier default. Drop if no policies passed packet"], verdict: .drop))
        }
        let profile = (ingress ? "cali-pri-" : "cali-pro-") + "kns.default"
        rules.append(Rule(comments: [id("prof")], verdict: .jump(profile)))
        rules.append(Rule(match: [.markSet], comments: [id("profr"), "Return if profile accepted"], verdict: .ret))
        rules.append(Rule(comments: [id("noprof"), "Drop if no profiles matched"], verdict: .drop))
        return rules
    }

    /// A policy chain: its identity on the first rule, then a rule per allowed or denied port.
    /// A policy without rules still has its identity rule (a comment-only rule).
    static func policyRules(_ policy: LabPolicy) -> [Rule] {
        var rules: [Rule] = []
        for port in policy.denies {
            rules.append(
                Rule(
                    match: [.port(proto: port.proto, port: port.port)], comments: ["cali:" + ruleID(policy.name, "deny\(port.port)")],
                    verdict: .drop))
        }
        for port in policy.allows {
            rules.append(
                Rule(
                    match: [.port(proto: port.proto, port: port.port)], comments: ["cali:" + ruleID(policy.name, "allow\(port.port)")],
                    verdict: .setMark))
            rules.append(Rule(match: [.markSet], comments: ["cali:" + ruleID(policy.name, "ret\(port.port)")], verdict: .ret))
        }
        if rules.isEmpty { rules.append(Rule(comments: ["cali:" + ruleID(policy.name, "id")], verdict: .none)) }
        rules[0].comments.append(policy.identity)
        return rules
    }

    // MARK: kube-router

    /// kube-router's filter chains (iptables-restore --noflush input): a pod chain for each pod
    /// a policy selects, jumping to the policies' chains, logging and rejecting the rest.
    static func kubeRouterIptables(_ workloads: [LabWorkload], policies: [LabPolicy]) -> String {
        var chains = [
            Chain(name: "KUBE-ROUTER-FORWARD", rules: []),
            Chain(
                name: "KUBE-NWPLCY-COMMON",
                rules: [
                    Rule(match: [.invalid], comments: ["rule to drop invalid state for pod"], verdict: .drop),
                    Rule(match: [.established], comments: ["rule for stateful firewall for pod"], verdict: .accept),
                    Rule(match: [.port(proto: "icmp", port: 8)], comments: ["allow icmp echo requests"], verdict: .accept),
                    Rule(
                        match: [.port(proto: "icmp", port: 3)], comments: ["allow icmp destination unreachable messages"], verdict: .accept),
                ]),
        ]
        for workload in workloads {
            let selecting = policies.filter { $0.selects.contains(workload.pod) && $0.denies.isEmpty }
            guard !selecting.isEmpty else { continue }
            let podChain = "KUBE-POD-FW-" + base32(LabPlan.hexDigits(for: "default\(workload.pod)"), count: 16)
            let pod = "default/\(workload.pod)"
            chains[0].rules += [
                Rule(match: [.destination(workload.address + "/32")], comments: ["\(pod) in"], verdict: .jump(podChain)),
                Rule(match: [.source(workload.address + "/32")], comments: ["\(pod) out"], verdict: .jump(podChain)),
            ]
            var rules = [Rule(verdict: .jump("KUBE-NWPLCY-COMMON"))]
            for policy in selecting {
                rules.append(
                    Rule(
                        match: [policy.ingress ? .destination(workload.address + "/32") : .source(workload.address + "/32")],
                        comments: ["\(policy.namespace ?? "")/\(policy.name) policy"], verdict: .jump(policy.kubeRouterChain)))
            }
            rules.append(Rule(match: [.markClear], comments: ["\(pod) log-drop"], verdict: .nflog(group: 100)))
            rules.append(Rule(match: [.markClear], comments: ["\(pod) reject"], verdict: .reject))
            rules.append(Rule(verdict: .clearMark))
            chains.append(Chain(name: podChain, rules: rules))
        }
        for policy in policies where policy.denies.isEmpty {
            chains.append(
                Chain(
                    name: policy.kubeRouterChain,
                    rules: policy.allows.flatMap { port in
                        [
                            Rule(
                                match: [.port(proto: port.proto, port: port.port)],
                                comments: ["\(policy.namespace ?? "")/\(policy.name) ingress any"], verdict: .setMark),
                            Rule(match: [.markSet], verdict: .ret),
                        ]
                    }))
        }
        return restoreInput("filter", chains)
    }

    static let kubeRouterForwardJump = ["-m", "comment", "--comment", "kube-router netpol - TEMCG2JMHZYE7H7T", "-j", "KUBE-ROUTER-FORWARD"]

    // MARK: rendering

    static func iptables(_ rule: Rule) -> String {
        var words: [String] = []
        for match in rule.match {
            switch match {
            case .inInterface(let name): words += ["-i", name]
            case .outInterface(let name): words += ["-o", name]
            case .destination(let net): words += ["-d", net]
            case .source(let net): words += ["-s", net]
            case .established: words += ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]
            case .invalid: words += ["-m", "conntrack", "--ctstate", "INVALID"]
            case .markClear: words += ["-m", "mark", "--mark", "0x0/0x10000"]
            case .markSet: words += ["-m", "mark", "--mark", acceptMark]
            case .noVerdict: words += ["-m", "mark", "--mark", "0x0/0x30000"]
            case .verdictSet: words += ["-m", "mark", "!", "--mark", "0x0/0x30000"]
            case .port(let proto, let port) where proto == "icmp": words += ["-p", "icmp", "-m", "icmp", "--icmp-type", String(port)]
            case .port(let proto, let port): words += ["-p", proto, "-m", proto, "--dport", String(port)]
            }
        }
        for comment in rule.comments { words += ["-m", "comment", "--comment", comment.contains(" ") ? "\"\(comment)\"" : comment] }
        switch rule.verdict {
        case .accept: words += ["-j", "ACCEPT"]
        case .drop: words += ["-j", "DROP"]
        case .ret: words += ["-j", "RETURN"]
        case .jump(let chain): words += ["-j", chain]
        case .goto(let chain): words += ["-g", chain]
        case .setMark: words += ["-j", "MARK", "--set-xmark", acceptMark]
        case .clearMark: words += ["-j", "MARK", "--set-xmark", "0x0/0x10000"]
        case .clearTierMark: words += ["-j", "MARK", "--set-xmark", "0x0/0x20000"]
        case .reject: words += ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"]
        case .nflog(let group):
            words += ["-m", "limit", "--limit", "10/min", "--limit-burst", "10", "-j", "NFLOG", "--nflog-group", String(group)]
        case .queue(let number): words += ["-j", "NFQUEUE", "--queue-num", String(number)]
        case .none: break
        }
        return words.joined(separator: " ")
    }

    static func nft(_ rule: Rule, chainPrefix: String = "") -> String {
        var words: [String] = []
        for match in rule.match {
            switch match {
            case .inInterface(let name): words.append("iifname \"\(name.hasSuffix("+") ? String(name.dropLast()) + "*" : name)\"")
            case .outInterface(let name): words.append("oifname \"\(name.hasSuffix("+") ? String(name.dropLast()) + "*" : name)\"")
            case .destination(let net): words.append("ip daddr \(net)")
            case .source(let net): words.append("ip saddr \(net)")
            case .established: words.append("ct state established,related")
            case .invalid: words.append("ct state invalid")
            case .markClear: words.append("meta mark & 0x10000 == 0x0")
            case .markSet: words.append("meta mark & 0x10000 == 0x10000")
            case .noVerdict: words.append("meta mark & 0x30000 == 0x0")
            case .verdictSet: words.append("meta mark & 0x30000 != 0x0")
            case .port(let proto, let port) where proto == "icmp": words.append("icmp type \(port)")
            case .port(let proto, let port): words.append("\(proto) dport \(port)")
            }
        }
        words.append("counter")
        switch rule.verdict {
        case .accept: words.append("accept")
        case .drop: words.append("drop")
        case .ret: words.append("return")
        case .jump(let chain): words.append("jump \(chainPrefix)\(chain)")
        case .goto(let chain): words.append("goto \(chainPrefix)\(chain)")
        case .setMark: words.append("meta mark set meta mark | 0x10000")
        case .clearMark: words.append("meta mark set meta mark & 0xfffeffff")
        case .clearTierMark: words.append("meta mark set meta mark & 0xfffdffff")
        case .reject: words.append("reject")
        case .nflog(let group): words.append("limit rate 10/minute burst 10 packets log group \(group)")
        case .queue(let number): words.append("queue num \(number)")
        case .none: break
        }
        // nft keeps one comment per rule: felix's identity (or its description) where there is one.
        if let comment = rule.comments.last { words.append("comment \"\(comment)\"") }
        return words.joined(separator: " ")
    }

    /// A stable 16-character rule ID in felix's alphabet.
    static func ruleID(_ a: String, _ b: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return String(LabPlan.hexDigits(for: a + "|" + b).utf8.prefix(16).map { alphabet[Int($0) % alphabet.count] })
    }

    /// Hex digits mapped to base32's alphabet (kube-router's chain hashes).
    static func base32(_ hex: String, count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        return String(hex.utf8.prefix(count).map { alphabet[Int($0) % alphabet.count] })
    }
}

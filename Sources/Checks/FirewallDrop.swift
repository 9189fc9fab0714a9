import Diagnosis
import Firewall

/// FIREWALL_DROP and FIREWALL_UNREADABLE: the firewall rules whose drop counters moved while the
/// probe was out (the rule that ate it), from snapshots read before and after it in every
/// namespace on the path; and the namespaces whose rules could not be read at all.
public enum FirewallDrop {
    public static let codes: [FindingCode] = [.firewallDrop, .firewallUnreadable]

    static func drops(before: [FirewallRule], after: [FirewallRule]) -> [(FirewallRule, UInt64)] {
        // Only rules that drop can have dropped the probe: a node's many accepting and NAT rules
        // (a CNI's per-pod chains) are not even compared.
        let key = { (rule: FirewallRule) in [rule.table, rule.chain, rule.specification] }
        var earlier: [[String]: UInt64] = [:]
        for rule in before where rule.drops { earlier[key(rule)] = rule.packets }
        return after.compactMap { rule in
            guard rule.drops else { return nil }
            let was = earlier[key(rule)] ?? 0
            return rule.packets > was ? (rule, rule.packets - was) : nil
        }
    }

    /// A warning for each namespace whose rules could not be read at all: silence there is not
    /// evidence of no drop.
    public static func unreadable(_ rules: [[FirewallRule]?], labels: [String]) -> [Finding] {
        zip(rules, labels).compactMap { rules, label in
            guard rules == nil else { return nil }
            return Finding(
                .firewallUnreadable, .warning,
                "The firewall of \(label) could not be read: a rule dropping the probe there would go unnamed.",
                hop: label, evidence: ["iptables-save -c and nft -j list ruleset: neither ran in \(label)"],
                remedy: "Install iptables (and nftables) where netdoctor runs, or read that namespace's rules by hand.")
        }
    }

    /// FIREWALL_DROP for each such rule or policy of one namespace, in its own tool's words; a
    /// rule a NetworkPolicy engine wrote is POLICY_DENIED instead, named by its policies.
    public static func findings(before: [FirewallRule], after: [FirewallRule], in label: String, probe: PolicyProbe? = nil) -> [Finding] {
        drops(before: before, after: after).map { rule, delta in
            if let denied = PolicyDenied.finding(rule, delta: delta, rules: after, in: label, probe: probe) { return denied }
            let what =
                switch rule.origin {
                case .iptables: "An iptables rule in \(label) dropped the probe: table \(rule.table), chain \(rule.chain)."
                case .iptablesPolicy:
                    "The \(rule.chain) chain's policy (\(rule.specification)) in \(label) dropped the probe: no rule of table \(rule.table) accepted it."
                case .nftables: "An nftables rule in \(label) dropped the probe: table \(rule.table), chain \(rule.chain)."
                }
            let remedy =
                rule.origin == .iptablesPolicy
                ? "Add the ACCEPT rule the CNI needs for pod traffic in \(rule.chain) (flannel and most CNIs add one for the pod CIDR), or change the policy."
                : "Remove or fix that rule (or the policy that wrote it)."
            return Finding(
                .firewallDrop, .error, what, hop: label, evidence: ["\(rule.text)  (+\(delta) packets during the probe)"], remedy: remedy)
        }
    }
}

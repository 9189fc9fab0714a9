import Diagnosis
import Firewall
import PathFacts

/// What the probe was, for a policy verdict to say what no policy allowed, and the pods whose
/// host interfaces are on the path (Calico's endpoint chains are named after them).
public struct PolicyProbe: Sendable {
    /// "TCP port 80", "ICMP echo".
    public var what: String
    public var isICMP: Bool
    public var source: String
    /// Host-side interface → pod name.
    public var pods: [String: String]
    /// The destination pod's name, when it is a pod of this node.
    public var destinationPod: String?

    public init(what: String, isICMP: Bool, source: String, pods: [String: String], destinationPod: String? = nil) {
        self.what = what
        self.isICMP = isICMP
        self.source = source
        self.pods = pods
        self.destinationPod = destinationPod
    }

    /// "TCP port 80", "ICMP echo".
    public static func describe(_ proto: String, port: UInt16?) -> String {
        port.map { "\(proto.uppercased()) port \($0)" } ?? (proto == "icmp" ? "ICMP echo" : proto.uppercased())
    }

    /// The pods of a path's facts by their host-side veths.
    public static func pods(of facts: PathFacts, source: String?) -> [String: String] {
        var pods: [String: String] = [:]
        if let source, let veth = facts.node?.hostVeth { pods[veth.name] = source }
        if let destination = facts.destination, let hostSide = destination.hostSide { pods[hostSide.name] = destination.podName }
        return pods
    }
}

/// POLICY_DENIED and POLICY_ICMP_ONLY: a drop rule that a NetworkPolicy engine wrote, read in
/// its own layout (PolicyChains), named by the policies behind it instead of by an iptables rule.
public enum PolicyDenied {
    public static let codes: [FindingCode] = [.policyDenied, .policyICMPOnly]

    /// POLICY_DENIED for `rule` (its counter moved by `delta` during the probe), or nil when no
    /// policy engine claims it (FIREWALL_DROP then).
    public static func finding(
        _ rule: FirewallRule, delta: UInt64, rules: [FirewallRule], in label: String, probe: PolicyProbe?
    ) -> Finding? {
        guard let denial = PolicyChains.explain(rule, in: rules) else { return nil }
        let counted = "\(rule.text)  (+\(delta) packets during the probe)"
        let what = probe.map { "\($0.what) from \($0.source)" } ?? "the probe"
        switch denial {
        case .defaultDeny(let endpoint, let tier, let all):
            return defaultDeny(endpoint, tier: tier, selecting: all, what: what, counted: counted, label: label, probe: probe)
        case .noProfile(let endpoint):
            return Finding(
                .policyDenied, .error,
                "\(who(endpoint, probe: probe))'s \(endpoint.direction?.rawValue ?? "") chain on \(label) dropped \(what): no policy selects it and no profile (\(endpoint.profiles.joined(separator: ", "))) accepted it (Calico).",
                hop: "\(label):\(endpoint.interface ?? endpoint.chain)", evidence: [counted],
                remedy:
                    "Calico's namespace profile (kns.<namespace>) accepts by default: check the namespace's profile, or add a policy that allows it."
            )
        case .explicitDeny(let policy, _, let ruleID):
            return explicitDeny(policy, ruleID: ruleID, rules: rules, what: what, counted: counted, label: label, probe: probe)
        }
    }

    /// Policies select the pod and none allows the packet: named, with the tier (Calico) whose
    /// end dropped it. kube-router's pod chain judges both ways: the probe's direction picks the
    /// policies that count.
    /// A datapath's own policy drop, where no rule of an engine is to be read: Cilium's (133
    /// Policy denied, 181 Policy denied by denylist, from its counters or Hubble) or Calico eBPF's
    /// (Dropped by policy, from its counters). POLICY_DENIED keeps its meaning; the evidence is the
    /// datapath's (the entry that decided, the policies it names where known).
    public static func byDatapath(_ message: String, hop: String?, evidence: [String], remedy: String) -> Finding {
        Finding(.policyDenied, .error, message, hop: hop, evidence: evidence, remedy: remedy)
    }

    static func defaultDeny(
        _ endpoint: PolicyEndpoint, tier: String?, selecting all: [ProgrammedPolicy], what: String, counted: String,
        label: String, probe: PolicyProbe?
    ) -> Finding {
        let whose = who(endpoint, probe: probe)
        var endpoint = endpoint
        if endpoint.direction == nil, let destination = probe?.destinationPod {
            endpoint.direction = podName(endpoint, probe: probe) == destination ? .ingress : .egress
        }
        let selecting = all.filter { $0.direction == nil || endpoint.direction == nil || $0.direction == endpoint.direction }
        let names = selecting.map(\.title)
        let engine = endpoint.engine == .calico ? "Calico\(tier.map { ", tier \($0)" } ?? "")" : "kube-router"
        let message =
            names.isEmpty
            ? "\(whose)'s \(endpoint.direction?.rawValue ?? "its") policy chain on \(label) dropped \(what): no policy there allowed it (\(engine))."
            : "NetworkPolicy default deny: \(whose)'s \(endpoint.direction.map { "\($0.rawValue) is" } ?? "traffic is") selected by \(names.joined(separator: ", ")) on \(label), and none of them allows \(what) (\(engine))."
        return Finding(
            .policyDenied, .error, message, hop: "\(label):\(endpoint.interface ?? endpoint.chain)",
            evidence: [counted]
                + selecting.map { "selected by \($0.title)\($0.direction.map { " (\($0.rawValue))" } ?? ""): chain \($0.chain)" },
            remedy:
                "Add a rule allowing \(what) to one of \(names.isEmpty ? "the policies" : names.joined(separator: ", ")), or check the pods' labels match the peer the policy names; `netdoctor policy \(podName(endpoint, probe: probe) ?? "POD")` lists them with their counters."
        )
    }

    /// A rule of one policy drops it; the hop is the veth of the pod on the path whose endpoint
    /// chain runs that policy.
    static func explicitDeny(
        _ policy: ProgrammedPolicy, ruleID: String?, rules: [FirewallRule], what: String, counted: String, label: String,
        probe: PolicyProbe?
    ) -> Finding {
        let endpoint = PolicyChains.endpoints(in: rules).first { endpoint in
            endpoint.selecting.contains { $0.chain == policy.chain } && endpoint.interface.map { probe?.pods[$0] != nil } == true
        }
        let whose = endpoint.map { "\(who($0, probe: probe))'s " } ?? ""
        return Finding(
            .policyDenied, .error,
            "\(policy.title) denies \(what) at \(whose)\(policy.direction?.rawValue ?? "policy") on \(label): one of its rules drops it.",
            hop: "\(label):\(endpoint?.interface ?? policy.chain)",
            evidence: [counted, "policy chain \(policy.chain)\(ruleID.map { ", rule \($0)" } ?? "")"]
                + (endpoint.map { ["run by \($0.chain)"] } ?? []),
            remedy: "Change or remove that rule of \(policy.title) (or order an allowing policy before it).")
    }

    /// POLICY_DENIED by a userspace engine's verdict (QueuedPolicyChecks saw the probe queued and
    /// not returned): which policy, only its logs say.
    static func queuedDenial(
        engine: String, queue: UInt16, who: String, ingress: Bool, what: String, label: String,
        evidence: [String]
    ) -> Finding {
        Finding(
            .policyDenied, .error,
            "\(engine) judged \(what) in userspace (NFQUEUE \(queue)) on \(label) and did not let it through: the NetworkPolicies selecting \(who)'s \(ingress ? "ingress" : "egress") do not allow it.",
            hop: label, evidence: evidence,
            remedy:
                "Which policy decided it, \(engine) logs at -v=2 (\"Packet denied by \(ingress ? "ingress" : "egress") policy\", with the pods); add an allow rule for this peer and port to one of them."
        )
    }

    /// POLICY_ICMP_ONLY: an ICMP probe passed where policies select the destination's ingress or
    /// the source's egress; what they do to the application's port is untested.
    public static func icmpOnly(rules: [[FirewallRule]], labels: [String], probe: PolicyProbe, reachable: Bool) -> [Finding] {
        guard reachable, probe.isICMP else { return [] }
        var selected: [(String, PolicyEndpoint)] = []
        for (rules, label) in zip(rules, labels) {
            for endpoint in PolicyChains.endpoints(in: rules) where !endpoint.selecting.isEmpty {
                if let interface = endpoint.interface, probe.pods[interface] != nil { selected.append((label, endpoint)) }
                if endpoint.engine == .kubeRouter, let pod = endpoint.pod, probe.pods.values.contains(where: { pod.hasSuffix("/" + $0) }) {
                    selected.append((label, endpoint))
                }
            }
        }
        guard !selected.isEmpty else { return [] }
        return [
            Finding(
                .policyICMPOnly, .info,
                "ICMP passed, but NetworkPolicies select pods on this path: a policy engine can accept ICMP where it denies TCP or UDP, so this says nothing about the application's port.",
                hop: nil,
                evidence: selected.map { label, endpoint in
                    "\(who(endpoint, probe: probe)) on \(label) (\(endpoint.engine.rawValue)\(endpoint.direction.map { ", \($0.rawValue)" } ?? "")): \(endpoint.selecting.map(\.title).joined(separator: ", "))"
                },
                remedy: "Trace again with the application's port: --protocol tcp --port PORT.")
        ]
    }

    static func podName(_ endpoint: PolicyEndpoint, probe: PolicyProbe?) -> String? {
        if let interface = endpoint.interface, let pod = probe?.pods[interface] { return pod }
        return endpoint.pod.map { String($0.split(separator: "/").last ?? Substring($0)) }
    }

    static func who(_ endpoint: PolicyEndpoint, probe: PolicyProbe?) -> String {
        if let pod = podName(endpoint, probe: probe) { return pod }
        return endpoint.interface.map { "the pod behind \($0)" } ?? "the pod of \(endpoint.chain)"
    }
}

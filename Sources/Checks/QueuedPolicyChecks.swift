import Diagnosis
import Firewall

/// kube-network-policies decides in userspace: the first packet of a connection of a pod it
/// enforces goes to its NFQUEUE, and comes back only if a policy allows it. Nothing on the node
/// counts a drop, but the queue does: a listener's `id_sequence` moves by one per packet queued.
/// So a probe that was queued and never answered was dropped by the engine's verdict
/// (POLICY_DENIED, the policy named only in its logs), and a queue with no listener drops all
/// (POLICY_ENGINE_DOWN).
public enum QueuedPolicyChecks {
    public static let codes: [FindingCode] = [.policyEngineDown]

    /// `reachedDestination`: the request was seen at the destination pod (let through: whatever
    /// was lost after is not the engine's verdict on it).
    public static func findings(
        _ observation: QueueObservation, in label: String, source: String, destination: String, reachable: Bool,
        reachedDestination: Bool = false, probe: PolicyProbe?
    ) -> [Finding] {
        observation.policies.compactMap { policy -> Finding? in
            let enforced = [destination, source].filter(policy.podAddresses.contains)
            guard let pod = enforced.first else { return nil }
            let ingress = pod == destination
            let who = (ingress ? probe?.destinationPod : nil) ?? pod
            let rule =
                "\(policy.table): \(policy.engine)'s rules send new connections of \(policy.podAddresses.joined(separator: ", ")) to NFQUEUE \(policy.queue)\(policy.bypass ? " (bypass)" : "")"
            guard let after = observation.after.first(where: { $0.queue == policy.queue }) else {
                guard !policy.bypass else { return nil }
                return Finding(
                    .policyEngineDown, reachable ? .warning : .error,
                    "Nothing listens on NFQUEUE \(policy.queue), where \(policy.engine) sends the new connections of \(who) on \(label): the kernel drops every one of them.",
                    hop: label, evidence: [rule, "/proc/net/netfilter/nfnetlink_queue has no line for queue \(policy.queue)"],
                    remedy:
                        "Start \(policy.engine) again (its pod on this node); with FailOpen it would queue with bypass and let them through unjudged."
                )
            }
            let before = observation.before.first { $0.queue == policy.queue }
            let queued = after.sequence &- (before?.sequence ?? after.sequence)
            guard !reachable, !reachedDestination, queued > 0 else { return nil }
            let what = probe.map { "\($0.what) from \($0.source)" } ?? "the probe"
            return PolicyDenied.queuedDenial(
                engine: policy.engine, queue: policy.queue, who: who, ingress: ingress, what: what, label: label,
                evidence: [
                    rule,
                    "queue \(policy.queue): listener port \(after.portID), +\(queued) packets queued during the probe (id_sequence \(before?.sequence ?? 0) → \(after.sequence)), none returned",
                ])
        }
    }
}

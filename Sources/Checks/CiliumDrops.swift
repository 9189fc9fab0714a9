import BPF
import Cilium
import Diagnosis

/// What Cilium's own drop counters (cilium_metrics) said around the probe.
public struct CiliumObservation: Sendable, Equatable {
    /// The drop counters that moved while the probe was out.
    public var drops: [CiliumDropCount]
    /// The Cilium releases the node's pinned maps are laid out for.
    public var releases: ClosedRange<Int>?
    /// Why the counters could not be read (then `drops` is empty and says nothing).
    public var problem: String?
    /// What the ipcache says of the probe's two ends ("10.244.1.2 is identity 5678").
    public var identities: [String] = []
    /// Hubble's flows of the probe, where Hubble answers on the node; why it could not be asked.
    public var hubble: [HubbleFlow] = []
    public var hubbleProblem: String?

    public init(drops: [CiliumDropCount], releases: ClosedRange<Int>?, problem: String? = nil, identities: [String] = []) {
        self.drops = drops
        self.releases = releases
        self.problem = problem
        self.identities = identities
    }
}

/// CILIUM_DROP: a drop Cilium's datapath counted while the probe was lost, in Cilium's own words
/// (its reason, direction and, from 1.16, the datapath file and line that counted it). The
/// counters are the node's: what else was dropped in the same second counts too, and is said.
public enum CiliumDrops {
    public static let codes: [FindingCode] = [.ciliumDrop]

    /// `at`: where Cilium counts a drop of each direction: ingress (into an endpoint: its host
    /// veth's cil_to_container and policy program) at the destination's host side, egress (what
    /// an endpoint sends: cil_from_container) at the source's; nil where the trace has none.
    public static func judge(
        _ observation: CiliumObservation, reachable: Bool, at places: (ingress: String?, egress: String?) = (nil, nil),
        findings: inout [Finding]
    ) {
        if let problem = observation.problem {
            findings.append(
                Finding(
                    .ciliumDrop, .info, "Cilium's drop counters (cilium_metrics) could not be read: \(problem).",
                    remedy: "cilium-dbg bpf metrics list on the node shows them; the trace's verdict stands without them."))
            return
        }
        let hubbleDrop = observation.hubble.first { $0.verdict == "DROPPED" }
        let hubbleLines =
            observation.hubble.prefix(8).map(describe) + (observation.hubbleProblem.map { ["Hubble not asked: \($0)"] } ?? [])
        guard !observation.drops.isEmpty else {
            // Hubble alone saw it (the counters said nothing, or could not be read): its word.
            if let hubbleDrop, !reachable {
                let hop = (hubbleDrop.direction == "EGRESS" ? places.egress : places.ingress) ?? places.ingress
                let reason = UInt8(clamping: hubbleDrop.dropReason)
                findings.append(
                    isPolicy(reason)
                        ? PolicyDenied.byDatapath(
                            "Cilium's policy denied the probe, as Hubble reports it: \(said(hubbleDrop)).", hop: hop,
                            evidence: hubbleLines + observation.identities, remedy: remedy(reason))
                        : Finding(
                            .ciliumDrop, .error, "Hubble reports the probe dropped: \(said(hubbleDrop)).", hop: hop,
                            evidence: hubbleLines + observation.identities, remedy: remedy(reason)))
            }
            return
        }
        let lines = observation.drops.map { describe($0, releases: observation.releases) }
        guard !reachable else {
            findings.append(
                Finding(
                    .ciliumDrop, .info, "Cilium counted drops while the probe was out, and the probe was answered: other traffic's.",
                    evidence: lines))
            return
        }
        // The kernel's view of the same drop (a BPF program at tc) is Cilium's: one finding, both said.
        let programFindings = findings.filter { $0.code == .bpfProgramDrop }
        let kernel = programFindings.flatMap(\.evidence)
        findings.removeAll { $0.code == .bpfProgramDrop }
        let first = observation.drops[0]
        let message =
            "\(CiliumDropReasons.text(first.key.reason)) (\(CiliumDropReasons.direction(first.key.direction)))"
            + (first.key.file != 0 ? ", counted at \(place(first.key, releases: observation.releases))" : "")
            + (hubbleDrop.map { $0.deniedBy.isEmpty ? "; Hubble agrees" : "; Hubble names \($0.deniedBy.joined(separator: ", "))" } ?? "")
            + "."
        let hop =
            (first.key.direction == 1 ? places.ingress : places.egress) ?? programFindings.first?.hop ?? places.ingress ?? places.egress
        let evidence =
            hubbleLines + lines + ["cilium_metrics is the node's: drops of other traffic in the same moment count too"]
            + observation.identities + kernel
        // A policy's drop is POLICY_DENIED, as every engine's is; the rest are Cilium's own.
        findings.append(
            isPolicy(first.key.reason)
                ? PolicyDenied.byDatapath(
                    "Cilium's policy denied the probe: " + message, hop: hop, evidence: evidence, remedy: remedy(first.key.reason))
                : Finding(
                    .ciliumDrop, .error, "Cilium's datapath dropped the probe: " + message, hop: hop, evidence: evidence,
                    remedy: remedy(first.key.reason)))
    }

    /// Cilium's policy reasons: 133 Policy denied (no entry allowed it), 181 Policy denied by denylist.
    static func isPolicy(_ reason: UInt8) -> Bool { reason == 133 || reason == 181 }

    /// Hubble's flow as evidence: which source spoke, and what it said.
    static func describe(_ flow: HubbleFlow) -> String {
        "Hubble (\(flow.node.isEmpty ? "this node" : flow.node)): \(flow.source) → \(flow.destination) \(flow.verdict)"
            + (flow.dropReason != 0 ? ", \(said(flow))" : "") + (flow.direction.isEmpty ? "" : ", \(flow.direction.lowercased())")
            + (flow.allowedBy.isEmpty ? "" : ", allowed by \(flow.allowedBy.joined(separator: ", "))")
    }

    /// Hubble's reason (Cilium's code and text), and the policies that denied it.
    static func said(_ flow: HubbleFlow) -> String {
        let reason =
            flow.dropReason > 0 && flow.dropReason < 256 ? CiliumDropReasons.text(UInt8(flow.dropReason)) : "reason \(flow.dropReason)"
        return reason + (flow.deniedBy.isEmpty ? "" : " by \(flow.deniedBy.joined(separator: ", "))")
    }

    static func describe(_ drop: CiliumDropCount, releases: ClosedRange<Int>?) -> String {
        "cilium_metrics: reason \(drop.key.reason) \"\(CiliumDropReasons.text(drop.key.reason))\", \(CiliumDropReasons.direction(drop.key.direction))"
            + (drop.key.file != 0 ? ", \(place(drop.key, releases: releases))" : "")
            + ": +\(drop.packets) packet\(drop.packets == 1 ? "" : "s") during the probe"
    }

    static func place(_ key: CiliumMetricKey, releases: ClosedRange<Int>?) -> String {
        let release = releases.flatMap {
            $0.lowerBound == $0.upperBound ? $0.lowerBound : ($0.lowerBound >= 18 ? 18 : ($0.upperBound <= 17 ? 17 : nil))
        }
        return "\(CiliumDropReasons.file(key.file, release: release)):\(key.line)"
    }

    static func remedy(_ reason: UInt8) -> String {
        switch reason {
        case 133, 181:
            "A NetworkPolicy (or CiliumNetworkPolicy) denies it: cilium-dbg policy get, or hubble observe --verdict DROPPED, names the policy; allow the traffic there."
        case 140:
            "The endpoint's policy program is missing from cilium_call_policy (a regeneration that failed): cilium-dbg endpoint regenerate, or restart the agent."
        case 158: "The Service has no backend Cilium knows: check its endpoints (cilium-dbg service list)."
        case 160:
            "The ipcache names no tunnel endpoint for the destination: the agent has not learned that node (cilium-dbg bpf ipcache get ADDRESS; check the CiliumNode and the agent's connectivity to the API server)."
        case 169: "Cilium's FIB lookup failed: the node has no route for the destination (ip route get on the node)."
        case 189: "Mutual authentication is required and did not complete: check Cilium's auth (SPIRE) for these identities."
        default: "cilium-dbg monitor --type drop shows each such drop with its endpoints; the reason is Cilium's own."
        }
    }
}

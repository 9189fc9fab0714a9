import Diagnosis
import NetAddress
import PathFacts

/// REPLY_MISSING, LOST_BEYOND_NODE and PORT_CLOSED: what the packets did,
/// combined with what the kernel's state predicted, into the findings that explain the outcome.
public enum ProbeVerdict {
    public static let codes: [FindingCode] = [.replyMissing, .lostBeyondNode, .portClosed]

    /// `remoteNode` names the node whose agent watched the remote half (its hops are in `hops`).
    public static func explain(
        source: String, destination: String, hops: [ObservedHop], outcome: ProbeResult, findings: [Finding],
        remoteVTEP: IPAddress?, hasDestination: Bool, remoteNode: String?
    ) -> [Finding] {
        var findings = findings
        let lastRequest = hops.lastIndex { $0.requestSeen == true }
        let where_ = lastRequest.map { hops[$0].name } ?? "nowhere"
        // Static predictions the packets contradict were weighed by their checks (PathCut).
        if outcome.reachable { return findings }
        // A refusal a firewall or policy rule sent (REJECT) is theirs, not the port's.
        let rejectedByRule = findings.contains { $0.severity == .error && [.firewallDrop, .policyDenied].contains($0.code) }
        if outcome.portClosed, !rejectedByRule {
            let answer = outcome.description.hasPrefix("UDP") ? "UDP datagram with ICMP port unreachable" : "TCP SYN with a reset"
            findings.append(
                Finding(
                    .portClosed, .error, "\(destination) answered the \(answer): nothing listens on that port.",
                    hop: hasDestination ? hops.last?.name : destination, evidence: [outcome.description],
                    remedy: "Start the service, or probe the port it listens on."))
            return findings
        }
        // A program on the path named as the likely cause (BPF_PROGRAM_DROP) explains it too.
        let explained = findings.contains { $0.severity == .error || $0.code == .bpfProgramDrop }
        if let last = lastRequest {
            let tail = hops[last]
            if tail.role == .destination {
                // The symptom stays an error even when a cause was found: it says where to look.
                findings.append(
                    Finding(
                        .replyMissing, .error, "The request reached \(destination), and no reply left it.",
                        hop: tail.name, evidence: ["request seen at \(tail.name)", "no reply seen at any hop", outcome.description],
                        remedy: explained
                            ? "See the other findings: they name what stops the reply."
                            : "Check \(destination)'s own firewall (iptables -L OUTPUT in its namespace) and that it answers; trace --drop-reasons asks the kernel why it dropped the reply."
                    ))
            } else if tail.role == .underlay, tail.node == nil, !hops.contains(where: { $0.replySeen == true }) {
                let via = remoteVTEP.map { " for \($0)" } ?? ""
                // Only a watched remote underlay that saw nothing says the packet never arrived.
                let remoteUnderlay = hops.first { $0.node != nil && $0.role == .underlay }
                let beyond =
                    remoteUnderlay?.requestSeen == false
                    ? "never reached \(remoteNode ?? "the remote node") (its agent saw nothing arrive on \(remoteUnderlay!.interface)): the fault is between the nodes."
                    : "nothing came back: the fault is past this node."
                findings.append(
                    Finding(
                        .lostBeyondNode, explained ? .warning : .error,
                        "The request left this node\(via) and \(beyond)",
                        hop: tail.name,
                        evidence: [
                            "request seen at every hop up to \(tail.name)",
                            hops.contains { $0.role == .overlay }
                                ? "encapsulated (VXLAN) on \(tail.interface)" : "routed on \(tail.interface)",
                            outcome.description,
                        ],
                        remedy:
                            "Run netdoctor on the node\(remoteVTEP.map { " at \($0)" } ?? "") (inspect and trace there; check its FORWARD chain, routes and the destination pod); with its agent, trace --drop-reasons asks that kernel why it dropped the probe."
                    ))
            } else if !explained {
                findings.append(NoRoute.stopped(at: tail.name, hops: hops, probe: outcome.description))
            }
        } else if !explained {
            findings.append(NoRoute.neverLeft(source, firstHop: hops.first?.name, seen: where_, probe: outcome.description))
        }
        return findings
    }
}

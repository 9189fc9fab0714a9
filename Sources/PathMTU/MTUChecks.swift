import Diagnosis
import NetAddress

/// MTU_MISMATCH, PMTU_BLACKHOLE and PROBE_NO_ANSWER: a measured path judged. `remedy` (how to set
/// the pod MTU with this node's CNI: it reads the CNI config) is asked only for a finding.
public enum MTUChecks {
    /// Findings for a measured path: MTU_MISMATCH, PMTU_BLACKHOLE, or a note that all agrees.
    /// `place`: where they are placed (a trace names the source pod's interface; by default, the
    /// namespaces mtu-probe measured between).
    public static func findings(for path: ProbedPath, at place: String? = nil, remedy: () -> String) -> [Finding] {
        let m = path.measurement
        var findings: [Finding] = []
        let family = path.destinationAddress.family
        let probes = m.probes.map { MTUProber.describe($0, family: family) }
        let hops = path.interfaces.map { $0.label + ($0.role == .underlay ? " − \($0.overhead ?? 0) overhead" : "") }
        guard let pmtu = m.pathMTU else {
            if case .noAnswer(let why) = m.verdict {
                findings.append(
                    Finding(
                        .probeNoAnswer, .error,
                        "\(path.destination) answered no probe from \(path.source): \(why), so the path MTU cannot be measured.",
                        hop: place ?? path.source, evidence: probes,
                        remedy:
                            "Check that \(path.destination) is reachable at all (netdoctor trace); it must answer ICMP echo (or, with --protocol udp, UDP to a closed port with port unreachable)."
                    ))
            }
            return findings
        }
        let where_ = "\(path.source) → \(path.destination)"
        if case .blackhole = m.verdict {
            var evidence =
                [
                    "sizes up to \(pmtu) cross; \(m.firstSilentSize.map(String.init) ?? "larger ones") and above vanish, with no \(family.tooBig)"
                ] + probes
            evidence += path.icmpTooBigDrops ?? []
            findings.append(
                Finding(
                    .pmtuBlackhole, .error,
                    "Packets above \(pmtu) bytes from \(path.source) to \(path.destination) vanish and no \(family.tooBig) comes back: TCP hangs on large segments.",
                    hop: place ?? where_, evidence: evidence + hops,
                    remedy:
                        "Let \(family == .ipv6 ? "ICMPv6 type 2 (packet too big)" : "ICMP type 3 code 4") through (it is how senders learn the path MTU\(family == .ipv6 ? "; IPv6 routers never fragment" : "")), and set the pod MTU to \(pmtu) or less (\(remedy()))."
                ))
        }
        if let interfaceMTU = path.interfaceMTU, let excess = path.mtuExcess {
            let source = path.interfaces.first { $0.role == .source }
            var evidence = ["path MTU \(pmtu) measured", "\(source?.label ?? "the source interface") allows \(interfaceMTU)"]
            if case .icmp(let from, let mtu) = m.verdict {
                evidence.append("\(family.tooBig) from \(from.map(\.description) ?? "a hop"), mtu \(mtu)")
            }
            findings.append(
                Finding(
                    .mtuMismatch, .error,
                    "\(source.map { "\($0.name) in \($0.namespace)" } ?? path.source) allows \(interfaceMTU) bytes, but the path to \(path.destination) carries \(pmtu): \(excess) bytes too many.",
                    hop: place ?? source.map { "\($0.namespace):\($0.name)" } ?? path.source,
                    // The black hole's finding already lists the probes.
                    evidence: evidence + hops + (findings.isEmpty ? probes : []),
                    remedy: "Set the pod MTU to \(pmtu) (\(remedy()))."))
        }
        return findings
    }

    /// MTU_MISMATCH on the remote node: its destination pod allows more than the measured path
    /// carries, so its large replies (a TCP peer's full segments) do not come back whole.
    public static func remoteFindings(for path: ProbedPath, remote: [PathInterface], node: String, remedy: () -> String) -> [Finding] {
        guard let pmtu = path.measurement.pathMTU else { return [] }
        return remote.filter { $0.role == .destination && $0.mtu > pmtu }.map { interface in
            Finding(
                .mtuMismatch, .error,
                "\(interface.name) of \(interface.namespace) on \(node) allows \(interface.mtu) bytes, but the path back to \(path.source) carries \(pmtu): its replies above \(pmtu) bytes do not arrive whole.",
                hop: "\(interface.namespace):\(interface.name)",
                evidence: ["path MTU \(pmtu) measured from \(path.source)", "\(interface.label) (reported by \(node)'s agent)"]
                    + remote.map { "on \(node): \($0.label)" },
                remedy: "Set the pod MTU on \(node) to \(pmtu) (\(remedy())).")
        }
    }

}

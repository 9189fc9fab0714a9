import Checks
import Diagnosis
import NetAddress
import NetlinkCodec
import Services

/// The verdict of a trace to a Service, from what was seen: the rules' disposition, the probe to
/// the Service's address and its conntrack entry, and each endpoint's own trace. Pure. Decides
/// ENDPOINT_UNREACHABLE; the rules' codes come from ServiceChecks, the path's from each
/// endpoint's trace (kept, so the failing hop is named once, where it is).
public enum ServiceVerdict {
    /// `connections`: this node's UDP conntrack entries towards the Service's address (stale ones
    /// trap flows at a gone endpoint).
    public static func judge(
        entry: ServiceEntry, mode: ProxyMode, probe: ServiceProbeResult, endpoints: [EndpointTrace],
        source: IPAddress, connections: [Conntrack.Entry] = []
    ) -> [Finding] {
        var findings = ServiceChecks.judge([entry], mode: mode, named: true)
        findings += ServiceChecks.staleConntrack(connections, table: ServiceTable(mode: mode, entries: [entry]))
        for trace in endpoints where !trace.answers {
            findings.append(unreachable(trace, entry: entry, chosen: probe.chosen.map { $0.address == trace.endpoint.address } ?? false))
            // The endpoint trace's own findings say where and why; notes about pods stay with it.
            for finding in trace.report?.findings ?? [] where finding.severity != .info && !findings.contains(finding) {
                findings.append(finding)
            }
        }
        // Which endpoint the kernel chose is then not known; nothing else rests on it.
        if let problem = probe.conntrackProblem { findings.append(CollectionFailed.finding([problem], place: "node: conntrack")) }
        return findings
    }

    static func unreachable(_ trace: EndpointTrace, entry: ServiceEntry, chosen: Bool) -> Finding {
        let port = "\(entry.proto.uppercased()) port \(trace.endpoint.port)"
        let place =
            trace.place.map {
                " (\($0.kind == .thisNode ? "this node" : $0.kind == .remote ? "another node" : "place unknown"): \($0.detail))"
            } ?? ""
        let cause =
            trace.report?.findings.first { $0.severity == .error }.map { ": \($0.code) at \($0.hop ?? "?"), \($0.message)" }
            ?? trace.problem.map { ": not traced (\($0))" } ?? ""
        var evidence = ["direct trace to \(trace.endpoint.description): \(trace.report?.probe ?? "no probe")"]
        if chosen { evidence.append("the kernel chose this endpoint for the probe to \(entry.label) (conntrack)") }
        evidence.append("kube-proxy rule: \(trace.endpoint.rule)")
        return Finding(
            .endpointUnreachable, .error,
            "Endpoint \(trace.endpoint.description)\(place) of \(entry.label) does not answer on \(port)\(cause)",
            hop: trace.endpoint.description, evidence: evidence, remedy: FindingCode.endpointUnreachable.entry?.remedy)
    }
}

import Agent
import ConfigFormats
import Diagnosis

/// `netdoctor incidents`: what a watching agent kept, newest first, each with its verdict, codes,
/// hops and time. Exit 1 when there is any (a problem was found), as the other reports.
public struct IncidentsReport: Report {
    public let command = "incidents"
    public var agent: String
    public var node: String
    public var incidents: [Incident]

    public init(agent: String, answer: ConfigValue) {
        self.agent = agent
        node = answer["node"]?.string ?? "?"
        incidents = (answer["incidents"]?.array ?? []).compactMap(Incident.init(json:))
    }

    /// Each incident as the finding its trace led with (WATCH_PROBE_FAILED when the failure went
    /// unexplained: the peer's agent itself did not answer, or the trace could not run).
    public var findings: [Finding] {
        incidents.map { incident in
            let severity: Severity = incident.reachable ? .warning : .error
            let message = "\(incident.sourceNode) → \(incident.targetNode) (\(incident.kind) \(incident.target)): \(incident.verdict)"
            let evidence = [incident.probe] + (incident.count > 1 ? ["seen in \(incident.count) intervals in a row"] : [])
            guard let code = incident.report["findings"]?.array?.first(where: { $0["severity"]?.string == "error" })?["code"]?.string else {
                return Finding(.watchProbeFailed, severity, message, hop: incident.targetNode, evidence: evidence)
            }
            return Finding(FindingCode(rawValue: code), severity, message, hop: incident.targetNode, evidence: evidence)
        }
    }

    public var exitStatus: Int32 { incidents.isEmpty ? 0 : 1 }

    public var jsonFields: [(String, ConfigValue)] {
        [("agent", .string(agent)), ("node", .string(node)), ("incidents", .array(incidents.map(\.json)))]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        guard !incidents.isEmpty else {
            return [HumanSection("Incidents on \(node)", rows: [("", style.green("none: every watched path answered"))])]
        }
        return incidents.map { incident in
            let hops = (incident.report["hops"]?.array ?? []).compactMap { hop -> String? in
                guard let name = hop["name"]?.string else { return nil }
                let mark = { (seen: ConfigValue?) in seen?.bool == true ? "✔" : seen?.bool == false ? "✘" : "·" }
                return "\(name) \(mark(hop["requestSeen"]))\(mark(hop["replySeen"]))"
            }
            return HumanSection(
                "Incident \(incident.id): \(incident.sourceNode) → \(incident.targetNode) (\(incident.kind))",
                rows: [
                    ("time", Self.timestamp(incident.time)),
                    ("probe", incident.probe),
                    ("verdict", incident.reachable ? style.yellow(incident.verdict) : style.red(incident.verdict)),
                    ("codes", incident.codes.isEmpty ? "none" : incident.codes.joined(separator: ", ")),
                    ("seen", incident.count > 1 ? "\(incident.count) intervals, last \(Self.timestamp(incident.lastTime))" : "once"),
                ] + (hops.isEmpty ? [] : [("hops", hops.joined(separator: "  "))]))
        }
    }

    static func timestamp(_ seconds: Double) -> String { AgentLog.timestamp(seconds: Int(seconds)) }
}

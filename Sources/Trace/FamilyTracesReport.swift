import ConfigFormats
import Diagnosis
import NetAddress

/// The answer of a trace between two dual-stack pods: one trace per family, each with its own
/// verdict and findings, and a line saying plainly when one family works and the other does not.
/// `reachable` and `hops` stay at the top, as the contract has them: reachable only when every
/// family is, the hops of the first family (IPv4).
public struct FamilyTracesReport: Report {
    public let command = "trace"
    public var traces: [TraceReport]

    public init(traces: [TraceReport]) { self.traces = traces }

    public var reachable: Bool { traces.allSatisfy(\.reachable) }

    /// Each family's findings, their messages saying which family they are about.
    public var findings: [Finding] {
        traces.flatMap { trace in trace.findings.map { $0.about(trace.family.description) } }
    }

    public var exitStatus: Int32 { traces.map(\.exitStatus).max() ?? 0 }

    /// "reachable in IPv4 and IPv6", or which family fails.
    public var verdict: String {
        let reached = traces.filter(\.reachable).map(\.family.description),
            failed = traces.filter { !$0.reachable }.map(\.family.description)
        if failed.isEmpty { return "reachable in " + reached.joined(separator: " and ") }
        if reached.isEmpty { return "not reachable in " + failed.joined(separator: " or ") }
        return "reachable in \(reached.joined(separator: " and ")), not in \(failed.joined(separator: " and "))"
    }

    public var jsonFields: [(String, ConfigValue)] {
        let first: [(String, ConfigValue)] = traces.first?.jsonFields ?? []
        let value = { (key: String) -> ConfigValue in first.first { $0.0 == key }?.1 ?? .null }
        let destination: String = traces.first.map { $0.ends.destinationPod?.fullName ?? $0.ends.destinationName } ?? ""
        let families: [ConfigValue] = traces.map { trace in .fields(trace.jsonFields + [("findings", .array(trace.findings.map(\.json)))]) }
        var fields: [(String, ConfigValue)] = [("source", value("source")), ("destination", .string(destination))]
        fields += [("reachable", .bool(reachable)), ("verdict", .string(verdict)), ("probe", value("probe")), ("hops", value("hops"))]
        fields.append(("families", .array(families)))
        return fields
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        traces.flatMap { $0.humanSections(style: style) }
            + [
                HumanSection(
                    "Verdict",
                    rows: [("families", traces.count == traces.filter(\.reachable).count ? style.green(verdict) : style.red(verdict))])
            ]
    }
}

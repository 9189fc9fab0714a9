import ConfigFormats
import Diagnosis
import PathFacts

/// The answer of `trace`: reachable or not, the hops in order with what each saw, the findings.
public struct TraceReport: Report {
    public let command = "trace"
    public var ends: TraceEnds
    public var hops: [TraceHop]
    public var reachable: Bool
    public var probe: String
    public var findings: [Finding]

    /// The contract: exit 1 when the destination is not reachable, even without an error finding.
    public var exitStatus: Int32 { !reachable || findings.contains { $0.severity == .error } ? 1 : 0 }

    public var jsonFields: [(String, ConfigValue)] {
        [("source", .string(ends.source.fullName)), ("destination", .string(ends.destinationName)),
         ("reachable", .bool(reachable)), ("probe", .string(probe)),
         ("hops", .array(hops.map { hop in
            .fields(["name": .string(hop.name), "namespace": .string(hop.namespace.name), "interface": .string(hop.interface),
                     "role": .string(hop.role.rawValue), "requestSeen": .flag(hop.requestSeen), "replySeen": .flag(hop.replySeen),
                     "node": .text(hop.node)])
         }))]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let mark = { (seen: Bool?) -> String in seen == true ? style.green("✔") : seen == false ? style.red("✘") : "·" }
        var rows: [(String, String)] = [("", style.dim("request reply"))]
        for hop in hops {
            rows.append((hop.name, "   \(mark(hop.requestSeen))      \(mark(hop.replySeen))    \(style.dim(hop.role.rawValue))"))
        }
        rows.append(("probe", probe))
        rows.append(("verdict", reachable ? style.green("reachable") : style.red("not reachable")))
        return [HumanSection("Trace \(ends.source.fullName) → \(ends.destinationName)", rows: rows)]
    }
}

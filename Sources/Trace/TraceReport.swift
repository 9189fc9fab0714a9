import BPF
import Checks
import Firewall
import ConfigFormats
import Diagnosis
import NetAddress
import PathFacts

/// The answer of `trace`: reachable or not, the hops in order with what each saw, the findings.
public struct TraceReport: Report {
    public let command = "trace"
    public var ends: TraceEnds
    public var hops: [ObservedHop]
    public var reachable: Bool
    public var probe: String
    public var findings: [Finding]
    /// --trace-rules: every rule the request met, per namespace.
    public var ruleTraces: [RuleTraceView] = []
    /// The BPF programs on each local hop's interface, by hop name.
    public var hopPrograms: [String: [AttachedProgram]] = [:]
    /// --drop-reasons: each of the probe's packets the kernel dropped (nil: not asked).
    public var kernelDrops: [KernelDropFact]?

    /// The family the probe went in: its destination's.
    public var family: IPFamily { ends.destinationAddress.family }

    /// The contract: exit 1 when the destination is not reachable, even without an error finding.
    public var exitStatus: Int32 { !reachable || findings.contains { $0.severity == .error } ? 1 : 0 }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("source", .string(ends.source.fullName)), ("destination", .string(ends.destinationName)),
            ("family", .int(family.rawValue)), ("reachable", .bool(reachable)), ("probe", .string(probe)),
            ("hops", .array(hops.map(hopJSON))),
        ] + (ruleTraces.isEmpty ? [] : [("ruleTrace", .array(ruleTraces.map(\.json)))])
            + (kernelDrops.map { [("kernelDrops", .array($0.map(\.json)))] } ?? [])
    }

    /// A hop as ObservedHop writes it, with the programs on its interface where there are.
    func hopJSON(_ hop: ObservedHop) -> ConfigValue {
        guard let programs = hopPrograms[hop.name], case .object(var object) = hop.json else { return hop.json }
        object.members.append(.init(key: "programs", value: .array(programs.map(\.json))))
        return .object(object)
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let mark = { (seen: Bool?) -> String in seen == true ? style.green("✔") : seen == false ? style.red("✘") : "·" }
        var rows: [(String, String)] = [("", style.dim("request reply"))]
        for hop in hops {
            let programs = hopPrograms[hop.name].map { "  " + style.yellow("BPF: " + $0.map(\.program.name).joined(separator: ", ")) } ?? ""
            rows.append(
                (hop.name, "   \(mark(hop.requestSeen))      \(mark(hop.replySeen))    \(style.dim(hop.role.rawValue))\(programs)"))
        }
        rows.append(("probe", probe))
        rows.append(("verdict", reachable ? style.green("reachable") : style.red("not reachable")))
        let dropped = kernelDrops.map { drops in
            HumanSection(
                "What the kernel dropped of the probe (drop reasons)",
                rows: drops.contains { !$0.isCopy }
                    ? drops.filter { !$0.isCopy }.map {
                        ($0.drop.reasonName, "\($0.place) at \($0.drop.function ?? "?"): \($0.drop.packet)")
                    }
                    : [
                        (
                            "",
                            "nothing: no packet of the probe was dropped on this kernel while it was watched"
                                + (drops.isEmpty
                                    ? ""
                                    : " (\(drops.count) cop\(drops.count == 1 ? "y" : "ies") freed while the packet went on: in the JSON)")
                        )
                    ])
        }
        return [HumanSection("Trace \(ends.source.fullName) → \(ends.destinationName)\(family == .ipv6 ? " (IPv6)" : "")", rows: rows)]
            + (dropped.map { [$0] } ?? [])
            + ruleTraces.map { view in
                HumanSection(
                    "Rules the request met in \(view.label) (nftrace)",
                    rows: view.rules.isEmpty
                        ? [
                            (
                                "",
                                view.problem
                                    ?? "none: no nf_tables rule saw it here (no nf_tables tables in this namespace, or iptables-legacy rules only)"
                            )
                        ]
                        : view.rules.map { ("#\($0.packet % 10000)", $0.text) })
            }
    }
}

extension RuleTraceView {
    var json: ConfigValue {
        .fields([
            ("namespace", .string(label)), ("problem", .text(problem)), ("leftTable", .text(leftTable)),
            (
                "rules",
                .array(
                    rules.map { rule in
                        .fields([
                            "family": .string(rule.family), "table": .string(rule.table), "chain": .string(rule.chain),
                            "handle": rule.handle.map { .int(Int(clamping: $0)) } ?? .null, "kind": .string(rule.kind),
                            "verdict": .text(rule.verdict), "comments": .texts(rule.comments), "packet": .int(Int(rule.packet)),
                        ])
                    })
            ),
        ])
    }
}

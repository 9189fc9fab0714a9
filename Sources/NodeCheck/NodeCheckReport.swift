import ConfigFormats
import Diagnosis
import NetAddress

/// `check`'s report: the node judged layer by layer, the facts each judgement rests on, and the
/// findings of every layer in one list.
public struct NodeCheckReport: Report {
    public let command = "check"
    public let facts: NodeCheckFacts
    public let findings: [Finding]

    public init(_ facts: NodeCheckFacts) {
        self.facts = facts
        findings = NodeChecks.run(facts)
    }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("network", .text(facts.configuration.active?.nodePath)),
            ("cni", .string(facts.configuration.cniName)),
            ("runtime", runtimeJSON),
            ("pods", .fields(["count": .int(facts.pods.count), "withProblems": .texts(facts.pods.withProblems)])),
            ("ipam", .array(facts.ipam.map(Self.json))),
            ("ipamNotRead", .texts(facts.ipamNotRead)),
            ("tables", tablesJSON),
            ("services", servicesJSON),
            (
                "sandboxFailures",
                .array(
                    facts.sandboxFailures.map { group in
                        .fields([
                            "cause": .string(group.cause), "count": .int(group.count), "first": Self.time(group.first),
                            "last": Self.time(group.last), "pods": .texts(group.pods), "sources": .texts(group.sources),
                        ])
                    })
            ),
            ("logsRead", .texts(facts.logsRead)),
            ("logsNotRead", .texts(facts.logsNotRead)),
            ("probes", probesJSON),
        ]
    }

    /// null without --probe: nothing was sent.
    var probesJSON: ConfigValue {
        guard let probes = facts.probes else { return .null }
        return .fields([
            "pod": .text(probes.pod),
            "sent": .array(
                probes.sent.map { .fields(["probe": .string($0.probe), "target": .string($0.target), "outcome": .string($0.outcome)]) }),
            "notSent": .texts(probes.notSent),
        ])
    }

    /// Unix seconds, as JSON numbers are written; null when unknown.
    static func time(_ seconds: Double?) -> ConfigValue {
        seconds.map { .number($0, text: String(Int64($0))) } ?? .null
    }

    var runtimeJSON: ConfigValue {
        let network = facts.runtimeConditions?.first { $0.type == "NetworkReady" }
        return .fields([
            "name": .string(facts.runtimeName),
            "networkReady": .flag(network?.status),
            "reason": .text(network?.reason),
            "message": .text(network?.message),
            "sandboxes": facts.sandboxes.map { .fields(["ready": .int($0.ready), "notReady": .int($0.notReady)]) } ?? .null,
        ])
    }

    static func json(_ usage: IPAMUsage) -> ConfigValue {
        .fields([
            "ipam": .string(usage.ipam),
            "network": .string(usage.network),
            "directory": .string(usage.place),
            "source": .string(usage.source),
            "rangeSets": .array(
                usage.sets.map { set in
                    .fields([
                        "index": .int(set.index),
                        "ranges": .texts(set.ranges.isEmpty ? [set.description] : set.ranges.map(\.description)),
                        "capacity": set.capacity == UInt64.max ? .null : .number(Double(set.capacity), text: String(set.capacity)),
                        "used": .int(set.used),
                    ])
                }),
            "reserved": .int(usage.reservations.count),
            "leaked": .int(usage.leaked?.count),
            "unreadable": .texts(usage.unreadable),
        ])
    }

    var tablesJSON: ConfigValue {
        .fields([
            "conntrack": facts.conntrack.map { .fields(["count": .int($0.count), "max": .int($0.max)]) } ?? .null,
            "neighbors": .array(
                facts.neighborTables.map { table in
                    .fields([
                        "family": .string(table.family == .ipv4 ? "ipv4" : "ipv6"),
                        "entries": .int(table.entries),
                        "gcThresh2": .int(table.softLimit),
                        "gcThresh3": .int(table.hardLimit),
                        "tableFulls": .number(Double(table.tableFulls), text: String(table.tableFulls)),
                    ])
                }),
        ])
    }

    var servicesJSON: ConfigValue {
        guard let services = facts.services else { return .null }
        return .fields([
            "mode": .text(services.mode), "services": .int(services.services), "withoutEndpoints": .int(services.withoutEndpoints),
        ])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        var node: [(String, String)] = [
            ("network", facts.configuration.active.map { "\($0.nodePath) (\(facts.configuration.cniName))" } ?? "none loaded"),
            ("runtime", runtimeLine),
            (
                "pods",
                "\(facts.pods.count) checked"
                    + (facts.pods.withProblems.isEmpty ? "" : ", problems in \(facts.pods.withProblems.joined(separator: ", "))")
            ),
        ]
        if let services = facts.services {
            node.append(
                (
                    "services",
                    "\(services.services) programmed by kube-proxy (\(services.mode ?? "mode unknown")), \(services.withoutEndpoints) without endpoints"
                ))
        }
        var sections = [HumanSection("Node", rows: node)]
        var ipam: [(String, String)] = facts.ipam.flatMap { usage in
            let leaked = usage.leaked.map { ", \($0.count) leaked" } ?? ", leaks not judged (the runtime was not asked)"
            guard !usage.sets.isEmpty else {
                return [
                    (
                        "\(usage.network)",
                        "\(usage.ipam): \(usage.reservations.count) addresses assigned\(leaked) (the pool's size is not on the node)"
                    )
                ]
            }
            return usage.sets.map { set in
                let capacity = set.capacity == UInt64.max ? "a range beyond counting" : "\(set.capacity)"
                return ("\(usage.network)[\(set.index)]", "\(set.description): \(set.used) of \(capacity) used\(leaked)")
            }
        }
        ipam += facts.ipamNotRead.map { ("not read", $0) }
        if !ipam.isEmpty { sections.append(HumanSection("IPAM", rows: ipam)) }
        var tables: [(String, String)] = []
        if let conntrack = facts.conntrack { tables.append(("conntrack", "\(conntrack.count) of \(conntrack.max) entries")) }
        for table in facts.neighborTables {
            tables.append(
                (
                    table.name,
                    "\(table.entries) entries, gc_thresh3 \(table.hardLimit.map(String.init) ?? "not readable here"), table_fulls \(table.tableFulls)"
                ))
        }
        if !tables.isEmpty { sections.append(HumanSection("Tables", rows: tables)) }
        let logs = facts.logsRead.map { ("read", $0) } + facts.logsNotRead.map { ("not read", $0) }
        if !logs.isEmpty { sections.append(HumanSection("Logs (last \(NodeChecks.logWindowMinutes) min)", rows: logs)) }
        sections.append(probesSection)
        return sections
    }

    var probesSection: HumanSection {
        guard let probes = facts.probes else {
            return HumanSection(
                "Probes", rows: [("none sent", "--probe sends the MTU sweep, a DNS lookup from a pod, and asks the agents' health")])
        }
        let from = probes.pod.map { [("from", $0)] } ?? []
        return HumanSection(
            "Probes (--probe)",
            rows: from + probes.sent.map { ("\($0.probe) \($0.target)", $0.outcome) } + probes.notSent.map { ("not sent", $0) })
    }

    var runtimeLine: String {
        let sandboxes = facts.sandboxes.map { ", sandboxes: \($0.ready) ready, \($0.notReady) not ready" } ?? ""
        guard let conditions = facts.runtimeConditions else { return "\(facts.runtimeName) (its conditions were not asked)\(sandboxes)" }
        guard let network = conditions.first(where: { $0.type == "NetworkReady" }) else {
            return "\(facts.runtimeName), no NetworkReady condition\(sandboxes)"
        }
        return
            "\(facts.runtimeName), NetworkReady=\(network.status)\(network.status ? "" : " (\(network.reason): \(network.message))")\(sandboxes)"
    }
}

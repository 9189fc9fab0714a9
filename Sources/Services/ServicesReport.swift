import ConfigFormats
import Diagnosis
import NetAddress
import NetlinkCodec

/// Where an endpoint is, as this node's routes and pods say.
public struct EndpointPlace: Sendable, Equatable {
    public enum Kind: String, Sendable { case thisNode, remote, unknown }
    public var kind: Kind
    /// "pod-a (default/pod-a)", "via 10.244.2.0 dev flannel.1", or why not known.
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }
}

/// What this node's conntrack table says about the Services: the UDP entries towards them (the
/// ones a stale endpoint can trap) and the per-CPU failure counters.
public struct ConntrackFacts: Sendable {
    public var entries: [Conntrack.Entry]
    public var statistics: [Conntrack.CPUStatistics]?
    public var problems: [String]

    public init(entries: [Conntrack.Entry], statistics: [Conntrack.CPUStatistics]?, problems: [String]) {
        self.entries = entries
        self.statistics = statistics
        self.problems = problems
    }
}

/// `netdoctor services [SERVICE]`: the node's Service table as kube-proxy programmed it, each
/// endpoint with where it is, and the problems found.
public struct ServicesReport: Report {
    public let command = "services"
    public var reading: ServiceReading
    /// The entries shown (all, or those the query names).
    public var entries: [ServiceEntry]
    public var query: ServiceQuery?
    public var places: [IPAddress: EndpointPlace]
    public var conntrack: ConntrackFacts?
    public var findings: [Finding]

    /// `now`: Unix time, to judge kube-proxy's sync timestamps.
    public init(
        reading: ServiceReading, query: ServiceQuery?, places: [IPAddress: EndpointPlace], conntrack: ConntrackFacts? = nil,
        now: Double = 0
    ) {
        self.reading = reading
        self.query = query
        self.places = places
        self.conntrack = conntrack
        let all = reading.table?.entries ?? []
        entries = (query.map { $0.matches(in: reading.table ?? ServiceTable(mode: reading.mode ?? .iptables, entries: [])) } ?? all)
            .sorted { ($0.name?.description ?? $0.label, $0.proto) < ($1.name?.description ?? $1.label, $1.proto) }
        var findings = ServiceChecks.unreadable(reading.problems + (reading.table?.problems ?? []), mode: reading.mode)
        if reading.mode == nil {
            findings.append(ServiceChecks.nothingProgrammed(reading, named: query != nil))
        } else if let query, reading.table != nil, entries.isEmpty {
            findings.append(ServiceChecks.notProgrammed(query, reading: reading))
        } else if query == nil, reading.table?.entries.isEmpty == true {
            // Every cluster has at least default/kubernetes: an empty table is kube-proxy's failure.
            findings.append(ServiceChecks.nothingProgrammed(reading, named: false))
        }
        if let mode = reading.mode { findings += ServiceChecks.judge(entries, mode: mode, named: query != nil) }
        if let table = reading.table, !entries.isEmpty { findings += ServiceChecks.masquerade(table, config: reading.proxyStatus?.config) }
        findings += ServiceChecks.proxyStale(reading.proxyStatus, now: now)
        if let conntrack, let table = reading.table {
            findings += ServiceChecks.staleConntrack(conntrack.entries, table: ServiceTable(mode: table.mode, entries: entries))
            findings += ServiceChecks.conntrackCounters(conntrack.statistics ?? [])
        }
        self.findings = findings
    }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("mode", .text(reading.mode?.rawValue)), ("modeSource", .text(reading.modeSource?.description)),
            ("rulesFrom", .text(reading.table?.readFrom)), ("notes", .texts(reading.table?.notes ?? [])),
            (
                "kubeProxy",
                reading.proxyStatus.map { status in
                    .fields([
                        "lastSync": status.lastSync.map { .number($0, text: String(Int($0))) } ?? .null,
                        "lastQueued": status.lastQueued.map { .number($0, text: String(Int($0))) } ?? .null,
                        "syncFailures": status.failures.map { .number($0, text: String(Int($0))) } ?? .null,
                        "clusterCIDR": .text(status.config?.clusterCIDR), "detectLocalMode": .text(status.config?.detectLocalMode),
                        "configzShape": .text(status.config?.shape),
                    ])
                } ?? .null
            ),
            ("query", .text(query?.text)), ("largeCluster", .bool(reading.table?.largeCluster ?? false)),
            ("services", .array(entries.map(json))),
            (
                "conntrack",
                conntrack.map { facts in
                    .fields([
                        "udpEntriesToServices": .int(facts.entries.count),
                        "counters": facts.statistics.map { cpus in
                            .fields(
                                ["insert_failed", "drop", "early_drop", "insert", "found", "invalid"].map { name in
                                    (name, .int(Int(cpus.reduce(UInt64(0)) { $0 + UInt64($1[name]) })))
                                })
                        } ?? .null,
                        "problems": .texts(facts.problems),
                    ])
                } ?? .null
            ),
        ]
    }

    func json(_ entry: ServiceEntry) -> ConfigValue {
        .fields([
            "name": .text(entry.name?.description), "namespace": .text(entry.name?.namespace), "service": .text(entry.name?.name),
            "port": .text(entry.name?.port), "protocol": .string(entry.proto),
            "frontends": .array(
                entry.frontends.map {
                    .fields(["kind": .string($0.kind), "address": .text($0.address?.description), "port": .int(Int($0.port))])
                }),
            "disposition": .string(Self.word(entry.disposition)), "localPolicy": .bool(entry.localPolicy),
            "affinitySeconds": .int(entry.affinitySeconds),
            "endpoints": .array(
                entry.endpoints.map { endpoint in
                    let place = places[endpoint.address]
                    return .fields([
                        "address": .string(endpoint.address.description), "port": .int(Int(endpoint.port)),
                        "share": endpoint.share.map { .number($0, text: String(format3($0))) } ?? .null,
                        "where": .text(place?.kind.rawValue), "detail": .text(place?.detail), "rule": .string(endpoint.rule),
                    ])
                }),
            "evidence": .texts(entry.evidence),
        ])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let mode =
            reading.mode.map { $0 == .cilium ? "Cilium's kube-proxy replacement" : "kube-proxy \($0.rawValue) mode" } ?? "no proxy state"
        var head: [(label: String, value: String)] = [("mode", mode + (reading.modeSource.map { ", from \($0)" } ?? ""))]
        if let from = reading.table?.readFrom { head.append(("rules from", from)) }
        if let query { head.append(("asked", query.text)) }
        head.append(("service ports", query == nil ? "\(entries.count)" : "\(entries.count) of \(reading.table?.entries.count ?? 0)"))
        if reading.table?.largeCluster == true { head.append(("note", "large-cluster mode: endpoints named by their DNAT targets only")) }
        for note in reading.table?.notes ?? [] { head.append(("note", note)) }
        var sections = [HumanSection("Services", rows: head)]
        // A listing of thousands stays readable: the first 200, then a count.
        for entry in entries.prefix(200) {
            var rows: [(label: String, value: String)] = [("frontends", entry.frontends.map(\.description).joined(separator: ", "))]
            switch entry.disposition {
            case .endpoints: break
            case .noEndpoints: rows.append(("state", style.red("no endpoints: rejected")))
            case .noLocalEndpoints: rows.append(("state", style.yellow("no local endpoints: external traffic dropped here")))
            }
            for endpoint in entry.endpoints {
                let share = endpoint.share.map { " \(Int(($0 * 100).rounded()))%" } ?? ""
                let place =
                    places[endpoint.address].map {
                        "  \($0.kind == .thisNode ? "this node" : $0.kind == .remote ? "another node" : "unknown"): \($0.detail)"
                    } ?? ""
                rows.append(("endpoint", "\(endpoint.description)\(share)\(place)"))
            }
            if entry.localPolicy { rows.append(("policy", "externalTrafficPolicy: Local")) }
            sections.append(HumanSection("\(entry.label) \(entry.proto)", rows: rows))
        }
        if entries.count > 200 {
            sections.append(HumanSection("…", rows: [("more", "\(entries.count - 200) service ports (-o json lists all)")]))
        }
        return sections
    }

    static func word(_ disposition: ServiceDisposition) -> String {
        switch disposition {
        case .endpoints: "endpoints"
        case .noEndpoints: "noEndpoints"
        case .noLocalEndpoints: "noLocalEndpoints"
        }
    }
}

/// A share as "0.333" (three decimals, no Foundation).
func format3(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
}

import Diagnosis
import NodeCheck
import Prometheus

/// The watcher's metrics, through the Swift server ecosystem's Prometheus client
/// (swift-prometheus): its registry names, labels, escapes and formats them, and emits the text
/// exposition format beside the agent's own request metrics at `/metrics`. Labels are bounded:
/// `kind` is one of four words, `source_node` is this node, `target_node` one of the ring's few
/// peers, `family` 4 or 6, `code` a finding code (a fixed catalogue).
public final class WatchMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let node: String
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]

    public init(node: String) { self.node = node }

    /// Every series of a metric has the same label names (the client insists, as Prometheus advises).
    func labels(_ kind: String, _ target: String, _ family: Int) -> [(String, String)] {
        [("kind", kind), ("source_node", node), ("target_node", target), ("family", String(family))]
    }

    /// One probe's outcome: its duration (answered or not), and a failure counted.
    func probed(kind: String, target: String, family: Int, seconds: Double, failed: Bool) {
        let labels = labels(kind, target, family)
        registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "netdoctor", metricName: "probe_duration", unitName: "seconds",
                helpText: "How long each watch probe took, answered or not."),
            labels: labels, buckets: Self.buckets
        )
        .recordNanoseconds(Int64(seconds * 1e9))
        let failures = registry.makeCounter(
            descriptor: .init(
                namespace: "netdoctor", metricName: "probe_failures", unitName: "total",
                helpText: "Watch probes that failed (no answer, an error, or too big for the path with DF set)."),
            labels: labels)
        if failed { failures.increment() }
    }

    /// The largest size that crossed to a peer's pod with DF set (the pod MTU when the path carries it).
    func pathMTU(target: String, family: Int, bytes: Int) {
        registry.makeGauge(
            descriptor: .init(
                namespace: "netdoctor", metricName: "path_mtu", unitName: "bytes",
                helpText: "The largest packet that crossed to the peer's pod with DF set."),
            labels: [("source_node", node), ("target_node", target), ("family", String(family))]
        )
        .set(Double(bytes))
    }

    /// A finding code an incident's trace gave, for the probe of `kind` to `target`.
    func verdict(code: String, kind: String, target: String) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "netdoctor", metricName: "verdicts", unitName: "total",
                helpText: "Finding codes of the traces that explained failed probes."),
            labels: [("code", code), ("kind", kind), ("source_node", node), ("target_node", target)]
        )
        .increment()
    }

    func incident() {
        registry.makeCounter(
            descriptor: .init(
                namespace: "netdoctor", metricName: "incidents", unitName: "total",
                helpText: "Incidents recorded: failed probes explained by a full trace."),
            labels: [("source_node", node)]
        )
        .increment()
    }

    /// Peers this node probes now.
    func peers(_ count: Int) {
        registry.makeGauge(
            descriptor: .init(
                namespace: "netdoctor", metricName: "watch_peers", unitName: "",
                helpText: "Peers on this node's ring, probed each interval."),
            labels: [("source_node", node)]
        )
        .set(Double(count))
    }

    public var text: String { registry.emitToString() }
}

extension WatchMetrics {
    /// What `check` found this interval: the tables that fill up, host-local's pools, and the
    /// findings by code and severity. A code gone since the last interval is set to 0, so that
    /// an alert on it ends.
    func nodeCheck(_ report: NodeCheckReport, previous: Set<String>) -> Set<String> {
        let facts = report.facts
        if let conntrack = facts.conntrack {
            gauge("conntrack_entries", "Connections in the node's conntrack table.", []).set(Double(conntrack.count))
            gauge("conntrack_max", "nf_conntrack_max: the table's limit.", []).set(Double(conntrack.max))
        }
        for table in facts.neighborTables {
            let family = [("family", table.family == .ipv4 ? "4" : "6")]
            gauge("neighbor_entries", "Entries of the kernel's neighbour table (every namespace's).", family).set(Double(table.entries))
            if let hard = table.hardLimit { gauge("neighbor_gc_thresh3", "The neighbour table's hard limit.", family).set(Double(hard)) }
            gauge("neighbor_table_fulls", "Times since boot the neighbour table was full and refused an entry.", family)
                .set(Double(table.tableFulls))
        }
        for usage in facts.ipam {
            for set in usage.sets where set.capacity != UInt64.max {
                let labels = [("network", usage.network), ("range_set", String(set.index))]
                let addresses = gauge(
                    "ipam_addresses", "host-local's addresses by state: used, free, leaked.", labels + [("state", "used")])
                addresses.set(Double(set.used))
                gauge("ipam_addresses", "host-local's addresses by state: used, free, leaked.", labels + [("state", "free")])
                    .set(Double(set.capacity) - Double(min(UInt64(set.used), set.capacity)))
                let leaked = usage.leaked(in: set).count
                gauge("ipam_addresses", "host-local's addresses by state: used, free, leaked.", labels + [("state", "leaked")])
                    .set(Double(leaked))
            }
        }
        var counts: [String: Int] = [:]
        for finding in report.findings where finding.severity >= .warning {
            counts["\(finding.code)\u{0}\(finding.severity)", default: 0] += 1
        }
        for key in previous.union(counts.keys) {
            let parts = key.split(separator: "\u{0}").map(String.init)
            gauge(
                "check_findings", "Findings of the node's check this interval, by code and severity.",
                [("code", parts[0]), ("severity", parts[1])]
            )
            .set(Double(counts[key] ?? 0))
        }
        return Set(counts.keys)
    }

    /// A gauge of this node; every series of a name has the same label names.
    func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(
            descriptor: .init(namespace: "netdoctor", metricName: name, unitName: "", helpText: help),
            labels: [("node", node)] + labels)
    }
}

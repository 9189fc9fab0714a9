import Diagnosis

/// The kernel's tables that fill up: conntrack (CONNTRACK_TABLE_FULL) and the neighbour tables
/// (NEIGHBOR_TABLE_FULL), built here only. Pure.
public enum TableChecks {
    public static let warningFill = 0.9

    /// A full conntrack table drops every new connection's first packet ("nf_conntrack: table
    /// full, dropping packet"); from 90% on, a burst gets there.
    public static func conntrack(_ fill: ConntrackFill) -> [Finding] {
        let ratio = Double(fill.count) / Double(fill.max)
        guard ratio >= warningFill else { return [] }
        var evidence = ["net.netfilter.nf_conntrack_count = \(fill.count)", "net.netfilter.nf_conntrack_max = \(fill.max)"]
        if let drop = fill.drop { evidence.append("conntrack -S: drop \(drop) (new connections refused for want of room, since boot)") }
        if let early = fill.earlyDrop { evidence.append("conntrack -S: early_drop \(early) (unreplied entries evicted to make room)") }
        let full = fill.count >= fill.max
        return [
            Finding(
                .conntrackTableFull, full ? .error : .warning,
                full
                    ? "The conntrack table is full (\(fill.count) of \(fill.max)): the kernel drops the first packet of new connections (\"nf_conntrack: table full, dropping packet\")."
                    : "The conntrack table is \(Int(ratio * 100))% full (\(fill.count) of \(fill.max)): a burst of connections will fill it and new ones will be dropped.",
                hop: "node", evidence: evidence,
                remedy:
                    "Raise net.netfilter.nf_conntrack_max (kube-proxy's conntrack.maxPerCore sets it), and look for what opens so many connections (`conntrack -L | awk '{print $4}' | sort | uniq -c`)."
            )
        ]
    }

    /// The neighbour table against the GC's limits. `entries` counts permanent entries too,
    /// which the limits spare, so a table at gc_thresh3 is said to be near full; table_fulls
    /// (the kernel refused an entry) is what says it overflowed.
    public static func neighbors(_ fill: NeighborTableFill) -> [Finding] {
        var evidence = ["\(fill.name): entries \(fill.entries), table_fulls \(fill.tableFulls) (since boot)"]
        if let soft = fill.softLimit { evidence.append("\(fill.thresholdPrefix).gc_thresh2 = \(soft)") }
        if let hard = fill.hardLimit { evidence.append("\(fill.thresholdPrefix).gc_thresh3 = \(hard)") }
        let nearHard = fill.hardLimit.map { Double(fill.entries) >= Double($0) * warningFill } ?? false
        let pastSoft = fill.softLimit.map { fill.entries >= $0 } ?? false
        guard fill.tableFulls > 0 || nearHard else { return [] }
        let table = fill.family == .ipv4 ? "ARP" : "IPv6 neighbour"
        let message: String
        let severity: Severity
        if fill.tableFulls > 0 {
            // The counter only grows until reboot: an overflow long past with the table far from
            // its limits now is told, not judged a fault of today.
            severity = pastSoft || nearHard ? .error : .info
            message =
                severity == .error
                ? "The \(table) table has overflowed (\(fill.tableFulls) times since boot) and is still near its limit: new neighbours are refused (\"neighbour: arp_cache: neighbor table overflow!\") and traffic to them is dropped."
                : "The \(table) table overflowed \(fill.tableFulls) times since boot (\"neighbor table overflow!\"); it has \(fill.entries) entries now, below its limits."
        } else {
            severity = .warning
            message =
                "The \(table) table holds \(fill.entries) entries, near gc_thresh3 (\(fill.hardLimit ?? 0)): past it, new neighbours are refused."
        }
        return [
            Finding(
                .neighborTableFull, severity, message, hop: "node", evidence: evidence,
                remedy:
                    "Raise \(fill.thresholdPrefix).gc_thresh1/2/3 (e.g. 8192/32768/65536 on large flat networks) in the initial namespace, and persist them in /etc/sysctl.d."
            )
        ]
    }
}

import ConfigFormats
import NetAddress
import NetlinkCodec
import NetSystem

/// The conntrack table's fill: entries now against the limit, in the namespace read (the count
/// is per namespace, nf_conntrack_max the whole machine's). nil fields: conntrack not loaded.
public struct ConntrackFill: Sendable, Equatable {
    public var count: Int
    public var max: Int
    /// Summed over CPUs from ctnetlink: entries dropped for want of room (`drop`) and
    /// unreplied ones evicted to make room (`early_drop`); nil when they could not be read.
    public var drop: UInt64?
    public var earlyDrop: UInt64?

    public init(count: Int, max: Int, drop: UInt64? = nil, earlyDrop: UInt64? = nil) {
        self.count = count
        self.max = max
        self.drop = drop
        self.earlyDrop = earlyDrop
    }

    /// nf_conntrack_count and nf_conntrack_max as the files hold them; nil when either is absent
    /// (nf_conntrack not loaded: nothing uses it) or not a number.
    public static func parse(count: String?, max: String?) -> ConntrackFill? {
        guard let count = count.flatMap({ Int($0.trimmingCharacters()) }), let max = max.flatMap({ Int($0.trimmingCharacters()) }), max > 0
        else { return nil }
        return ConntrackFill(count: count, max: max)
    }

    public static func read() -> ConntrackFill? {
        parse(count: Sysctl.read("net.netfilter.nf_conntrack_count"), max: Sysctl.read("net.netfilter.nf_conntrack_max"))
    }
}

/// One family's neighbour table (ARP for IPv4, NDISC for IPv6): its entries, which the kernel
/// counts over every namespace, against the garbage collector's thresholds (kept in the initial
/// namespace only), and how often it was full since boot (the kernel then logged "neighbor
/// table overflow!" and refused the entry).
public struct NeighborTableFill: Sendable, Equatable {
    public var family: IPFamily
    public var entries: Int
    public var tableFulls: UInt64
    /// gc_thresh2 (the GC starts forcing) and gc_thresh3 (the hard limit); nil outside the
    /// initial namespace, where the sysctls do not exist.
    public var softLimit: Int?
    public var hardLimit: Int?

    public init(family: IPFamily, entries: Int, tableFulls: UInt64, softLimit: Int?, hardLimit: Int?) {
        self.family = family
        self.entries = entries
        self.tableFulls = tableFulls
        self.softLimit = softLimit
        self.hardLimit = hardLimit
    }

    public var name: String { family == .ipv4 ? "arp_cache" : "ndisc_cache" }
    public var thresholdPrefix: String { "net.\(family == .ipv4 ? "ipv4" : "ipv6").neigh.default" }

    /// /proc/net/stat/arp_cache: a header line naming the columns, then one row of hex numbers
    /// per CPU; `entries` is the table's (the same in every row), the rest per CPU, summed.
    /// nil when the text has no `entries` column or no row.
    public static func parse(statistics text: String, family: IPFamily) -> NeighborTableFill? {
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: " ", omittingEmptySubsequences: true),
            let entriesColumn = header.firstIndex(of: "entries")
        else { return nil }
        let fullsColumn = header.firstIndex(of: "table_fulls")
        var entries: Int? = nil
        var fulls: UInt64 = 0
        for line in lines.dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == header.count, let count = Int(fields[entriesColumn], radix: 16) else { continue }
            entries = count
            if let fullsColumn, let value = UInt64(fields[fullsColumn], radix: 16) { fulls &+= value }
        }
        guard let entries else { return nil }
        return NeighborTableFill(family: family, entries: entries, tableFulls: fulls, softLimit: nil, hardLimit: nil)
    }

    /// From the kernel's answer to RTM_GETNEIGHTBL: the thresholds are there in any namespace.
    public init?(_ table: NeighborTableInfo) {
        let family: IPFamily
        switch table.name {
        case "arp_cache": family = .ipv4
        case "ndisc_cache": family = .ipv6
        default: return nil
        }
        guard let entries = table.entries else { return nil }
        self.init(
            family: family, entries: Int(entries), tableFulls: table.tableFulls ?? 0, softLimit: table.thresholds.map { Int($0.1) },
            hardLimit: table.thresholds.map { Int($0.2) })
    }

    /// The procfs way, where rtnetlink did not answer: the counters from /proc/net/stat, the
    /// thresholds from sysctls that exist in the initial namespace only.
    public static func read(_ family: IPFamily) -> NeighborTableFill? {
        let file = family == .ipv4 ? "arp_cache" : "ndisc_cache"
        guard let bytes = KernelFile.bytes("/proc/thread-self/net/stat/\(file)", limit: 1 << 20),
            var fill = parse(statistics: String(decoding: bytes, as: UTF8.self), family: family)
        else { return nil }
        fill.softLimit = Sysctl.read("\(fill.thresholdPrefix).gc_thresh2").flatMap { Int($0) }
        fill.hardLimit = Sysctl.read("\(fill.thresholdPrefix).gc_thresh3").flatMap { Int($0) }
        return fill
    }
}

/// br_netfilter's switches: whether bridged IPv4/IPv6 frames pass the iptables (and nftables
/// ip/ip6) hooks, where kube-proxy's DNAT is. Without the module the files are absent (the
/// module may be built in, as on netdoctor's test kernel: the files say, /sys/module may not).
public struct BridgeNetfilter: Sendable, Equatable {
    /// bridge-nf-call-iptables and -ip6tables; nil when the file is absent (module not loaded).
    public var callIptables: Int?
    public var callIp6tables: Int?

    public static let iptablesSysctl = "net.bridge.bridge-nf-call-iptables"
    public static let ip6tablesSysctl = "net.bridge.bridge-nf-call-ip6tables"

    public static func read() -> BridgeNetfilter {
        BridgeNetfilter(
            callIptables: Sysctl.read(iptablesSysctl).flatMap { Int($0) },
            callIp6tables: Sysctl.read(ip6tablesSysctl).flatMap { Int($0) })
    }

    public var loaded: Bool { callIptables != nil || callIp6tables != nil }
}

/// The ports the kernel picks for outgoing connections, and those it leaves alone: a NodePort
/// inside the first and not in the second may be taken by a client socket first.
public struct LocalPortRanges: Sendable, Equatable {
    public var ephemeral: ClosedRange<Int>
    public var reserved: [ClosedRange<Int>]

    /// net.ipv4.ip_local_port_range ("32768\t60999") and ip_local_reserved_ports
    /// ("30000-32767,40000"); nil when the first is not two port numbers.
    public static func parse(range: String?, reserved: String?) -> LocalPortRanges? {
        let bounds = (range ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
        guard bounds.count == 2, (1...65535).contains(bounds[0]), bounds[0] <= bounds[1], bounds[1] <= 65535 else { return nil }
        return LocalPortRanges(ephemeral: bounds[0]...bounds[1], reserved: portList(reserved ?? ""))
    }

    /// "30000-32767,40000": ranges and single ports, comma-separated; what is not, skipped.
    public static func portList(_ text: String) -> [ClosedRange<Int>] {
        text.trimmingCharacters().split(separator: ",").compactMap { part in
            let ends = part.split(separator: "-").compactMap { Int(String($0).trimmingCharacters()) }
            guard (1...2).contains(ends.count), let low = ends.first, let high = ends.last, low <= high, (0...65535).contains(low),
                high <= 65535
            else { return nil }
            return low...high
        }
    }

    public static func read() -> LocalPortRanges? {
        parse(range: Sysctl.read("net.ipv4.ip_local_port_range"), reserved: Sysctl.read("net.ipv4.ip_local_reserved_ports"))
    }

    /// The ports of `ports` the kernel may hand a client socket.
    public func exposed(_ ports: [Int]) -> [Int] {
        ports.filter { port in ephemeral.contains(port) && !reserved.contains { $0.contains(port) } }
    }
}

import BPF
import NodeFiles

/// One counter of cilium_metrics: a reason and direction (and from 1.16 the datapath's source
/// line and file that counted it), summed over every CPU.
public struct CiliumMetricKey: Sendable, Hashable {
    public var reason: UInt8
    public var direction: UInt8
    /// 1.16+: where in the datapath it was counted; 0 when the key has none (1.14, 1.15).
    public var line: UInt16
    public var file: UInt8

    public init(reason: UInt8, direction: UInt8, line: UInt16 = 0, file: UInt8 = 0) {
        self.reason = reason
        self.direction = direction
        self.line = line
        self.file = file
    }

    /// struct metrics_key (8 bytes): reason, dir in the low two bits, then (1.16+) u16 line and
    /// u8 file, where 1.14 and 1.15 keep reserved zeros (so one reading serves every release).
    init?(_ bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        self.init(reason: bytes[0], direction: bytes[1] & 0x03, line: UInt16(bytes[2]) | UInt16(bytes[3]) << 8, file: bytes[4])
    }
}

/// cilium_metrics read once: each counter's packets and bytes, summed over CPUs.
public struct CiliumMetrics: Sendable, Equatable {
    public var counters: [CiliumMetricKey: Counter]
    public struct Counter: Sendable, Equatable {
        public var packets: UInt64
        public var bytes: UInt64
    }

    public init(counters: [CiliumMetricKey: Counter]) { self.counters = counters }

    /// From the map's entries (one value per CPU, struct metrics_value {u64 count, u64 bytes}).
    public init(entries: [BPFMapEntry]) {
        var counters: [CiliumMetricKey: Counter] = [:]
        for entry in entries {
            guard let key = CiliumMetricKey(entry.key) else { continue }
            counters[key] = Counter(packets: entry.sum64(at: 0), bytes: entry.sum64(at: 8))
        }
        self.counters = counters
    }

    /// The drop counters that moved between `before` and this reading.
    public func drops(since before: CiliumMetrics) -> [CiliumDropCount] {
        counters.compactMap { key, counter in
            guard CiliumDropReasons.isDrop(key.reason) else { return nil }
            let earlier = before.counters[key]?.packets ?? 0
            guard counter.packets > earlier else { return nil }
            return CiliumDropCount(key: key, packets: counter.packets - earlier)
        }
        .sorted {
            ($0.key.reason, $0.key.direction, $0.key.file, $0.key.line) < ($1.key.reason, $1.key.direction, $1.key.file, $1.key.line)
        }
    }
}

/// A drop counter of Cilium's that moved during the probe.
public struct CiliumDropCount: Sendable, Equatable {
    public var key: CiliumMetricKey
    public var packets: UInt64

    public init(key: CiliumMetricKey, packets: UInt64) {
        self.key = key
        self.packets = packets
    }
}

/// Cilium's datapath as pinned on a node: where its maps are, which release laid them out.
public struct CiliumDatapath: Sendable {
    /// Where Cilium pins its global maps, on the node (under --root).
    public static let globals = "/sys/fs/bpf/tc/globals"
    /// Where its global maps are pinned, on this machine (under the root).
    public var globalsPath: String
    public var metricsPath: String { globalsPath + "/cilium_metrics" }
    /// The releases the pinned maps' layouts agree on; nil when they do not say.
    public var releases: ClosedRange<Int>?
    /// Pinned maps whose name is Cilium's and whose layout is none Cilium 1.14 to 1.18 writes.
    public var unknownLayouts: [String]

    /// The node's Cilium maps, when it has cilium_metrics pinned; nil otherwise (no Cilium, or
    /// bpffs not reachable under the root).
    public static func find(root: NodeRoot) -> CiliumDatapath? {
        guard let listing = try? root.list(globals, withStatus: false), listing.contains(where: { $0.name == "cilium_metrics" }),
            let globalsPath = try? root.resolve(globals)
        else { return nil }
        var layouts: [CiliumMapLayout] = []
        var unknown: [String] = []
        for entry in listing where entry.name.hasPrefix("cilium_") {
            guard CiliumLayouts.maps.contains(where: { $0.perEndpoint ? entry.name.hasPrefix($0.name) : entry.name == $0.name }),
                let path = try? root.resolve(entry.nodePath), let map = try? BPFMap.open(pinned: path)
            else { continue }
            if let layout = CiliumLayouts.layout(of: map.info, pinnedAs: entry.name) {
                layouts.append(layout)
            } else {
                unknown.append("\(entry.name) (\(map.info.type), key \(map.info.keySize), value \(map.info.valueSize))")
            }
        }
        return CiliumDatapath(globalsPath: globalsPath, releases: CiliumLayouts.releases(of: layouts), unknownLayouts: unknown)
    }

    /// cilium_metrics now, or why it could not be read (a layout that is not Cilium's is not read).
    public func metrics() -> Result<CiliumMetrics, BPFError> {
        do {
            let map = try BPFMap.open(pinned: metricsPath)
            guard CiliumLayouts.layout(of: map.info, pinnedAs: "cilium_metrics") != nil else {
                return .failure(
                    BPFError(
                        "cilium_metrics is \(map.info.type) with key \(map.info.keySize) and value \(map.info.valueSize) bytes: no layout Cilium 1.14 to 1.18 writes, not read"
                    ))
            }
            return .success(CiliumMetrics(entries: map.entries(limit: 4096).entries))
        } catch {
            return .failure(error)
        }
    }
}

import BPF
import NodeFiles

/// Calico's eBPF dataplane counts what its programs do to each interface's packets, per hook, in
/// one per-CPU hash under /sys/fs/bpf/tc/globals (felix/bpf-gpl/counters.h, reasons.h;
/// felix/bpf/counters): key {ifindex u32, hook u32: 0 tc ingress (from the endpoint), 1 tc egress
/// (to it), 2 XDP}, value one u64 per `enum calico_reason`. docs/calico-ebpf.md keeps the facts
/// with their sources; a layout not among these is said, never read.
public struct CalicoCountersLayout: Sendable, Equatable {
    public var name: String
    public var counters: Int
    public var releases: String

    public var keySize: UInt32 { 8 }
    public var valueSize: UInt32 { UInt32(counters * 8) }
}

public struct CalicoCounterKey: Sendable, Hashable {
    public var interfaceIndex: UInt32
    public var hook: UInt32

    public init(interfaceIndex: UInt32, hook: UInt32) {
        self.interfaceIndex = interfaceIndex
        self.hook = hook
    }

    /// "tc ingress" (what the endpoint sends), "tc egress" (what it receives), "XDP".
    public var hookName: String { [0: "tc ingress", 1: "tc egress", 2: "XDP"][hook] ?? "hook \(hook)" }
}

/// A drop counter of Calico's that moved while the probe was out.
public struct CalicoDrop: Sendable, Equatable {
    public var key: CalicoCounterKey
    public var reason: Int
    public var packets: UInt64

    public init(key: CalicoCounterKey, reason: Int, packets: UInt64) {
        self.key = key
        self.reason = reason
        self.packets = packets
    }

    public var reasonText: String { CalicoCounters.reasons[reason] ?? "counter \(reason)" }
}

public enum CalicoCounters {
    public static let globals = "/sys/fs/bpf/tc/globals"

    /// The global counters maps felix pins (per-CPU hashes of 20,000 entries, 8-byte keys).
    /// 3.25's per-interface cali_counters1 (a per-CPU array under /sys/fs/bpf/tc/IFACE_igr/) is
    /// not read.
    public static let layouts: [CalicoCountersLayout] = [
        .init(name: "cali_counters2", counters: 14, releases: "3.26 to 3.29"),
        .init(name: "cali_counters3", counters: 17, releases: "3.30"),
        .init(name: "cali_counters5", counters: 25, releases: "3.31"),
    ]

    /// `enum calico_reason` as felix's counters.go describes each index; those whose category is
    /// "Dropped" are drops (13 from 3.27.4/3.28.1, 14-16 from 3.30). 3.31's 17-24 are not named.
    public static let reasons: [Int: String] = [
        0: "Total packets", 1: "Accepted by failsafe", 2: "Accepted by policy", 3: "Accepted by another program",
        4: "Dropped by policy", 5: "Dropped too short packets", 6: "Dropped incorrect checksum",
        7: "Dropped packets with unsupported IP options", 8: "Dropped malformed IP packets", 9: "Dropped failed encapsulation",
        10: "Dropped failed decapsulation", 11: "Dropped packets with unknown source", 12: "Dropped packets with unknown route",
        13: "Dropped packets hitting blackhole route", 14: "Packets hitting NAT source collision",
        15: "Dropped NAT source collision resolution failed", 16: "Dropped failed to create conntrack",
    ]
    public static let dropReasons: Set<Int> = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16]

    /// The node's counters map under its root, and its layout; nil: none pinned. A map of
    /// felix's name with another layout is returned with a nil layout (said, not read).
    public static func find(root: NodeRoot) -> (path: String, layout: CalicoCountersLayout?, shape: String)? {
        for layout in layouts {
            guard let path = try? root.resolve(globals + "/" + layout.name), let map = try? BPFMap.open(pinned: path) else { continue }
            let fits = map.info.type == .perCPUHash && map.info.keySize == layout.keySize && map.info.valueSize == layout.valueSize
            return (path, fits ? layout : nil, "\(layout.name): \(map.info.type), key \(map.info.keySize), value \(map.info.valueSize)")
        }
        return nil
    }

    /// Every entry, each counter summed over CPUs.
    public static func read(path: String, layout: CalicoCountersLayout) -> Result<[CalicoCounterKey: [UInt64]], BPFError> {
        do {
            let map = try BPFMap.open(pinned: path)
            return .success(counters(map.entries(limit: 20_000).entries, layout: layout))
        } catch {
            return .failure(error)
        }
    }

    /// The entries as felix's Go reads them (each CPU's block of `counters` u64, summed), but
    /// whole u64s (felix's reader keeps their low 32 bits).
    public static func counters(_ entries: [BPFMapEntry], layout: CalicoCountersLayout) -> [CalicoCounterKey: [UInt64]] {
        var out: [CalicoCounterKey: [UInt64]] = [:]
        for entry in entries where entry.key.count == 8 {
            let key = CalicoCounterKey(interfaceIndex: HostOrder.u32(entry.key, at: 0) ?? 0, hook: HostOrder.u32(entry.key, at: 4) ?? 0)
            var sums = [UInt64](repeating: 0, count: layout.counters)
            for value in entry.values where value.count == Int(layout.valueSize) {
                for i in 0..<layout.counters { sums[i] &+= HostOrder.u64(value, at: i * 8) ?? 0 }
            }
            out[key] = sums
        }
        return out
    }

    /// The drop counters that moved between two readings.
    public static func drops(before: [CalicoCounterKey: [UInt64]], after: [CalicoCounterKey: [UInt64]]) -> [CalicoDrop] {
        var found: [CalicoDrop] = []
        for (key, now) in after {
            let then = before[key] ?? []
            for reason in dropReasons.sorted() where reason < now.count {
                let was = reason < then.count ? then[reason] : 0
                if now[reason] > was { found.append(CalicoDrop(key: key, reason: reason, packets: now[reason] - was)) }
            }
        }
        return found.sorted { ($0.key.interfaceIndex, $0.key.hook, $0.reason) < ($1.key.interfaceIndex, $1.key.hook, $1.reason) }
    }
}

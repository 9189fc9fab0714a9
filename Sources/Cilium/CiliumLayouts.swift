import BPF

/// Cilium's pinned maps as each release lays them out (v1.14 to v1.18), from Cilium's own C
/// structs and Go map definitions: docs/cilium.md keeps every fact with its source
/// (`path@release`). A map is read only when its (name, type, key size, value size) is one of
/// these; any other layout is said, never guessed.
public struct CiliumMapLayout: Sendable, Equatable {
    /// The pinned name, or its prefix for per-endpoint maps (`cilium_policy_v2_` + 5 digits).
    public var name: String
    public var perEndpoint: Bool
    public var type: BPFMapType
    public var keySize: UInt32
    public var valueSize: UInt32
    /// The minor releases of 1.x that lay it out so (14 = 1.14).
    public var releases: ClosedRange<Int>
    public var source: String

    public func matches(_ info: BPFMapInfo, pinnedAs pinned: String) -> Bool {
        let named =
            perEndpoint
            ? pinned.hasPrefix(name) && pinned.dropFirst(name.count).count == 5 && pinned.dropFirst(name.count).allSatisfy(\.isNumber)
            : pinned == name
        return named && info.type == type && info.keySize == keySize && info.valueSize == valueSize
    }
}

public enum CiliumLayouts {
    public static let oldest = 14
    public static let newest = 18

    public static let maps: [CiliumMapLayout] = [
        .init(
            name: "cilium_metrics", perEndpoint: false, type: .perCPUHash, keySize: 8, valueSize: 16, releases: 14...18,
            source: "bpf/lib/common.h struct metrics_key/metrics_value; pkg/maps/metricsmap/metricsmap.go"),
        .init(
            name: "cilium_lxc", perEndpoint: false, type: .hash, keySize: 20, valueSize: 48, releases: 14...18,
            source: "bpf/lib/common.h struct endpoint_key/endpoint_info; pkg/maps/lxcmap/lxcmap.go"),
        .init(
            name: "cilium_ipcache", perEndpoint: false, type: .lpmTrie, keySize: 24, valueSize: 12, releases: 14...17,
            source: "bpf/lib/maps.h IPCACHE_MAP; bpf/lib/common.h struct remote_endpoint_info; pkg/maps/ipcache/ipcache.go"),
        .init(
            name: "cilium_ipcache_v2", perEndpoint: false, type: .lpmTrie, keySize: 24, valueSize: 24, releases: 18...18,
            source: "bpf/lib/eps.h@v1.18.0 cilium_ipcache_v2; pkg/maps/ipcache/ipcache.go@v1.18.0"),
        .init(
            name: "cilium_policy_", perEndpoint: true, type: .lpmTrie, keySize: 12, valueSize: 24, releases: 14...16,
            source: "bpf/lib/common.h struct policy_key/policy_entry; pkg/maps/policymap/policymap.go"),
        .init(
            name: "cilium_policy_v2_", perEndpoint: true, type: .lpmTrie, keySize: 12, valueSize: 24, releases: 17...17,
            source: "pkg/maps/policymap/policymap.go@v1.17.0 MapName"),
        .init(
            name: "cilium_policy_v2_", perEndpoint: true, type: .lpmTrie, keySize: 12, valueSize: 8, releases: 18...18,
            source: "bpf/lib/policy.h@v1.18.0 cilium_policy_v2 (counters moved to cilium_policystats)"),
        .init(
            name: "cilium_policystats", perEndpoint: false, type: .lruPerCPUHash, keySize: 12, valueSize: 16, releases: 18...18,
            source: "bpf/lib/policy.h@v1.18.0; pkg/maps/policymap/statsmap.go@v1.18.0"),
        .init(
            name: "cilium_call_policy", perEndpoint: false, type: .programArray, keySize: 4, valueSize: 4, releases: 14...18,
            source: "bpf/lib/maps.h POLICY_CALL_MAP; pkg/maps/policymap/callmap.go"),
        .init(
            name: "cilium_lb4_services_v2", perEndpoint: false, type: .hash, keySize: 12, valueSize: 12, releases: 14...18,
            source: "bpf/lib/lb.h struct lb4_key/lb4_service; pkg/maps/lbmap/ipv4.go"),
        .init(
            name: "cilium_lb4_backends_v3", perEndpoint: false, type: .hash, keySize: 4, valueSize: 12, releases: 14...18,
            source: "bpf/lib/lb.h struct lb4_backend; pkg/datapath/linux/config/config.go LB4_BACKEND_MAP"),
        .init(
            name: "cilium_lb4_reverse_nat", perEndpoint: false, type: .hash, keySize: 2, valueSize: 6, releases: 14...18,
            source: "bpf/lib/lb.h struct lb4_reverse_nat"),
        .init(
            name: "cilium_lb6_services_v2", perEndpoint: false, type: .hash, keySize: 24, valueSize: 12, releases: 14...18,
            source: "bpf/lib/lb.h struct lb6_key/lb6_service"),
        .init(
            name: "cilium_lb6_backends_v3", perEndpoint: false, type: .hash, keySize: 4, valueSize: 24, releases: 14...18,
            source: "bpf/lib/lb.h struct lb6_backend"),
        .init(
            name: "cilium_lb6_reverse_nat", perEndpoint: false, type: .hash, keySize: 2, valueSize: 18, releases: 14...18,
            source: "bpf/lib/lb.h struct lb6_reverse_nat"),
        .init(
            name: "cilium_ct4_global", perEndpoint: false, type: .lruHash, keySize: 14, valueSize: 56, releases: 14...18,
            source: "bpf/lib/common.h struct ipv4_ct_tuple/ct_entry; bpf/lib/conntrack_map.h"),
        .init(
            name: "cilium_ct6_global", perEndpoint: false, type: .lruHash, keySize: 38, valueSize: 56, releases: 14...18,
            source: "bpf/lib/common.h struct ipv6_ct_tuple/ct_entry"),
        .init(
            name: "cilium_ct_any4_global", perEndpoint: false, type: .lruHash, keySize: 14, valueSize: 56, releases: 14...18,
            source: "bpf/lib/conntrack_map.h (non-TCP); bpf/lib/common.h struct ipv4_ct_tuple/ct_entry"),
        .init(
            name: "cilium_ct_any6_global", perEndpoint: false, type: .lruHash, keySize: 38, valueSize: 56, releases: 14...18,
            source: "bpf/lib/conntrack_map.h (non-TCP); bpf/lib/common.h struct ipv6_ct_tuple/ct_entry"),
    ]

    /// The layout a pinned map has, of those Cilium writes; nil: not one of them.
    public static func layout(of info: BPFMapInfo, pinnedAs name: String) -> CiliumMapLayout? {
        maps.first { $0.matches(info, pinnedAs: name) }
    }

    /// The releases every recognised map agrees on (nil: no map recognised, or they contradict,
    /// as an upgrade's stale pins beside the new ones can).
    public static func releases(of layouts: [CiliumMapLayout]) -> ClosedRange<Int>? {
        guard var range = layouts.first?.releases else { return nil }
        for layout in layouts.dropFirst() {
            let low = max(range.lowerBound, layout.releases.lowerBound)
            let high = min(range.upperBound, layout.releases.upperBound)
            guard low <= high else { return nil }
            range = low...high
        }
        return range
    }
}

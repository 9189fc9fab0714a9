/// A neighbour table as RTM_NEWNEIGHTBL describes it (struct ndtmsg + NDTA_* attributes): the
/// kernel's one ARP table and one NDP table, shared by every namespace, with the garbage
/// collector's thresholds and its counters. Unlike /proc/sys/net/*/neigh/default/gc_thresh*,
/// which exist in the initial namespace only, the answer carries them in any namespace.
public struct NeighborTableInfo: Sendable, Equatable {
    /// "arp_cache", "ndisc_cache".
    public var name: String
    public var family: UInt8
    /// gc_thresh1, 2 and 3.
    public var thresholds: (UInt32, UInt32, UInt32)?
    /// NDTA_CONFIG's ndtc_entries: the table's entries, every namespace's.
    public var entries: UInt32?
    /// NDTA_STATS' ndts_table_fulls, summed over the CPUs by the kernel.
    public var tableFulls: UInt64?

    public static func == (a: Self, b: Self) -> Bool {
        a.name == b.name && a.family == b.family && a.entries == b.entries && a.tableFulls == b.tableFulls
            && a.thresholds.map { [$0.0, $0.1, $0.2] } == b.thresholds.map { [$0.0, $0.1, $0.2] }
    }

    /// nil for a message about one device's parameters (NDTA_PARMS without the table's config).
    public init?(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.type == .newNeighborTable else { return nil }
        let header = try GenericHeader(parsing: message.payload)
        let attributes = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size))
        guard let config = attributes.attribute(NDTA.config)?.payload else { return nil }
        family = header.family
        name = attributes.attribute(NDTA.name)?.string ?? ""
        if let t1 = attributes.attribute(NDTA.thresh1)?.u32, let t2 = attributes.attribute(NDTA.thresh2)?.u32,
            let t3 = attributes.attribute(NDTA.thresh3)?.u32
        {
            thresholds = (t1, t2, t3)
        }
        // struct ndt_config: u16 key_len, u16 entry_size, u32 entries, …
        if config.count >= 8 { entries = WireReader(config).u32(4) }
        // struct ndt_stats: eleven u64 counters up to table_fulls (allocs … forced_gc_runs, table_fulls).
        if let stats = attributes.attribute(NDTA.stats)?.payload, stats.count >= 88 {
            let r = WireReader(stats)
            tableFulls = UInt64(r.u32(80)) | UInt64(r.u32(84)) << 32
        }
    }
}

/// NDTA_* (linux/neighbour.h).
public enum NDTA: UInt16, AttributeType {
    case name = 1, thresh1 = 2, thresh2 = 3, thresh3 = 4, config = 5, parms = 6, stats = 7, gcInterval = 8
}

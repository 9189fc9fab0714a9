import CLibBPF

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// BPF_MAP_TYPE_* (include/uapi/linux/bpf.h), by name.
public struct BPFMapType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let hash = BPFMapType(rawValue: 1)
    public static let array = BPFMapType(rawValue: 2)
    public static let programArray = BPFMapType(rawValue: 3)
    public static let perCPUHash = BPFMapType(rawValue: 5)
    public static let perCPUArray = BPFMapType(rawValue: 6)
    public static let lruHash = BPFMapType(rawValue: 9)
    public static let lruPerCPUHash = BPFMapType(rawValue: 10)
    public static let lpmTrie = BPFMapType(rawValue: 11)

    static let names: [UInt32: String] = [
        1: "hash", 2: "array", 3: "prog_array", 4: "perf_event_array", 5: "percpu_hash", 6: "percpu_array", 7: "stack_trace",
        8: "cgroup_array", 9: "lru_hash", 10: "lru_percpu_hash", 11: "lpm_trie", 12: "array_of_maps", 13: "hash_of_maps",
        14: "devmap", 15: "sockmap", 16: "cpumap", 17: "xskmap", 18: "sockhash", 19: "cgroup_storage", 20: "reuseport_sockarray",
        21: "percpu_cgroup_storage", 22: "queue", 23: "stack", 24: "sk_storage", 25: "devmap_hash", 26: "struct_ops",
        27: "ringbuf", 28: "inode_storage", 29: "task_storage", 30: "bloom_filter", 31: "user_ringbuf", 32: "cgrp_storage",
        33: "arena",
    ]
    public var description: String { Self.names[rawValue] ?? "type \(rawValue)" }

    /// A value per possible CPU, each rounded up to 8 bytes (what a lookup from user space fills).
    public var isPerCPU: Bool { [5, 6, 10, 21].contains(rawValue) }
}

/// A map as the kernel describes it (BPF_OBJ_GET_INFO_BY_FD): what `bpftool map show` prints.
public struct BPFMapInfo: Sendable, Equatable {
    public var id: UInt32
    public var name: String
    public var type: BPFMapType
    public var keySize: UInt32
    public var valueSize: UInt32
    public var maxEntries: UInt32
    public var flags: UInt32
    /// The map's own BTF (0: none, as most of Cilium's maps have: they are made from size-only
    /// definitions), and its key's and value's types there.
    public var btfID: UInt32
    public var btfKeyTypeID: UInt32
    public var btfValueTypeID: UInt32

    public init(
        id: UInt32, name: String, type: BPFMapType, keySize: UInt32, valueSize: UInt32, maxEntries: UInt32, flags: UInt32 = 0,
        btfID: UInt32 = 0, btfKeyTypeID: UInt32 = 0, btfValueTypeID: UInt32 = 0
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.keySize = keySize
        self.valueSize = valueSize
        self.maxEntries = maxEntries
        self.flags = flags
        self.btfID = btfID
        self.btfKeyTypeID = btfKeyTypeID
        self.btfValueTypeID = btfValueTypeID
    }
}

/// One entry read from a map: its key, and its value, or one value per possible CPU.
public struct BPFMapEntry: Sendable, Equatable {
    public var key: [UInt8]
    public var values: [[UInt8]]

    public init(key: [UInt8], values: [[UInt8]]) {
        self.key = key
        self.values = values
    }

    /// A little-endian u64 at `offset` of each value, summed (a per-CPU counter's total, as
    /// `bpftool` and Cilium's own tools add it up); values too short count 0.
    public func sum64(at offset: Int) -> UInt64 {
        values.reduce(0) { total, value in
            total &+ (HostOrder.u64(value, at: offset) ?? 0)
        }
    }
}

/// A map opened for reading (by id, or where it is pinned). Nothing is written.
public final class BPFMap: @unchecked Sendable {
    public let info: BPFMapInfo
    private let fd: Int32

    private init(fd: Int32, info: BPFMapInfo) {
        self.fd = fd
        self.info = info
    }

    deinit { close(fd) }

    public static func open(id: UInt32) throws(BPFError) -> BPFMap {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        let fd = bpf_map_get_fd_by_id(id)
        guard fd >= 0 else { throw .failed("BPF map \(id) could not be opened", returned: fd) }
        return try opened(fd)
    }

    /// A map pinned in bpffs (Cilium's under /sys/fs/bpf/tc/globals).
    public static func open(pinned path: String) throws(BPFError) -> BPFMap {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw .failed("no BPF map pinned at \(BPFText.printable(path, limit: 200))", returned: fd) }
        return try opened(fd)
    }

    private static func opened(_ fd: Int32) throws(BPFError) -> BPFMap {
        var raw = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        let status = bpf_obj_get_info_by_fd(fd, &raw, &length)
        guard status == 0 else {
            close(fd)
            throw .failed("a BPF object that is not a map, or whose information could not be read", returned: status)
        }
        let info = BPFMapInfo(
            id: raw.id, name: BPFText.cString(raw.name), type: BPFMapType(rawValue: raw.type), keySize: raw.key_size,
            valueSize: raw.value_size, maxEntries: raw.max_entries, flags: raw.map_flags, btfID: raw.btf_id,
            btfKeyTypeID: raw.btf_key_type_id, btfValueTypeID: raw.btf_value_type_id)
        return BPFMap(fd: fd, info: info)
    }

    /// Every map the kernel has (BPF_MAP_GET_NEXT_ID): maps are the kernel's, not a namespace's.
    public static func loaded() throws(BPFError) -> [BPFMapInfo] {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        var maps: [BPFMapInfo] = []
        var id: UInt32 = 0
        while true {
            var next: UInt32 = 0
            let status = bpf_map_get_next_id(id, &next)
            if status != 0 {
                if (status < 0 ? -status : errno) == ENOENT { return maps }
                throw .failed("the kernel's BPF maps could not be listed", returned: status)
            }
            if let map = try? open(id: next) { maps.append(map.info) }
            id = next
        }
    }

    /// How many values a lookup fills: one, or one per possible CPU.
    var valueCount: Int { info.type.isPerCPU ? max(1, Int(libbpf_num_possible_cpus())) : 1 }
    /// Each value's stride: a per-CPU value is rounded up to 8 bytes.
    var valueStride: Int { info.type.isPerCPU ? (Int(info.valueSize) + 7) / 8 * 8 : Int(info.valueSize) }

    /// The value(s) under `key`; nil when there is none.
    public func lookup(_ key: [UInt8]) -> [[UInt8]]? {
        guard key.count == Int(info.keySize) else { return nil }
        var buffer = [UInt8](repeating: 0, count: max(1, valueCount * valueStride))
        let status = key.withUnsafeBytes { keyBytes in
            buffer.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, keyBytes.baseAddress, $0.baseAddress) }
        }
        guard status == 0 else { return nil }
        return (0..<valueCount).map { cpu in Array(buffer[(cpu * valueStride)..<(cpu * valueStride + Int(info.valueSize))]) }
    }

    /// Up to `limit` entries in the kernel's order (BPF_MAP_GET_NEXT_KEY, then a lookup each);
    /// an entry removed between the two is skipped. Bounded: a map of millions is read in part,
    /// and `truncated` says so.
    public func entries(limit: Int = 1 << 20) -> (entries: [BPFMapEntry], truncated: Bool) {
        if let batched = batchedEntries(limit: limit) { return batched }
        var entries: [BPFMapEntry] = []
        let keySize = Int(info.keySize)
        guard keySize > 0 else { return ([], false) }
        var key = [UInt8](repeating: 0, count: keySize)
        var next = [UInt8](repeating: 0, count: keySize)
        var first = true
        while entries.count < limit {
            let status = next.withUnsafeMutableBytes { nextBytes in
                key.withUnsafeBytes { keyBytes in bpf_map_get_next_key(fd, first ? nil : keyBytes.baseAddress, nextBytes.baseAddress) }
            }
            guard status == 0 else { return (entries, false) }
            first = false
            key = next
            if let values = lookup(key) { entries.append(BPFMapEntry(key: key, values: values)) }
        }
        return (entries, true)
    }

    /// The hash maps' entries thousands at a time (BPF_MAP_LOOKUP_BATCH, kernel 5.6 on): two
    /// system calls an entry become one a few thousand. nil where the kernel or the map type does
    /// not batch (LPM tries, program arrays, older kernels) or a batch fails: then entry by entry.
    func batchedEntries(limit: Int) -> (entries: [BPFMapEntry], truncated: Bool)? {
        guard [.hash, .lruHash, .perCPUHash, .lruPerCPUHash].contains(info.type), limit > 0 else { return nil }
        let keySize = Int(info.keySize), stride = valueStride * valueCount
        let chunk = min(4096, limit)
        var keys = [UInt8](repeating: 0, count: chunk * keySize)
        var values = [UInt8](repeating: 0, count: chunk * stride)
        // The batch position is the kernel's own token (a bucket for hash maps): key-sized at least.
        var position = [UInt8](repeating: 0, count: max(keySize, 8))
        var next = position
        var entries: [BPFMapEntry] = []
        var first = true
        while entries.count < limit {
            var count = UInt32(min(chunk, limit - entries.count))
            let status = keys.withUnsafeMutableBytes { k in
                values.withUnsafeMutableBytes { v in
                    position.withUnsafeMutableBytes { p in
                        next.withUnsafeMutableBytes { n in
                            bpf_map_lookup_batch(fd, first ? nil : p.baseAddress, n.baseAddress, k.baseAddress, v.baseAddress, &count, nil)
                        }
                    }
                }
            }
            let code = status == 0 ? 0 : (status < 0 ? -status : errno)
            guard code == 0 || code == ENOENT else { return nil }
            for i in 0..<min(Int(count), chunk) {
                let key = Array(keys[(i * keySize)..<((i + 1) * keySize)])
                let base = i * stride
                let perCPU = (0..<valueCount).map { cpu in
                    Array(values[(base + cpu * valueStride)..<(base + cpu * valueStride + Int(info.valueSize))])
                }
                entries.append(BPFMapEntry(key: key, values: perCPU))
            }
            if code == ENOENT { return (entries, false) }
            position = next
            first = false
        }
        return (entries, true)
    }

    /// The map's own BTF, when it has one (btf_id not 0).
    public func btf() throws(BPFError) -> BTF? {
        guard info.btfID != 0 else { return nil }
        return try BTF.kernelObject(id: info.btfID)
    }
}

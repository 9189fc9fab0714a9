import CLibBPF
import NetAddress
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The packets of one probe, as the drop-reason program matches them in the kernel: between the
/// two addresses in either direction, of the protocol, and for TCP and UDP to the port (the
/// request's destination port, the reply's source port).
public struct ProbeFlow: Sendable, Equatable {
    /// nil: any address (a remote half, where the request may arrive masqueraded).
    public var a: IPAddress?
    public var b: IPAddress
    /// IPPROTO_*: 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6.
    public var protocolNumber: UInt8
    public var port: UInt16?

    public init(a: IPAddress?, b: IPAddress, protocolNumber: UInt8, port: UInt16? = nil) {
        self.a = a
        self.b = b
        self.protocolNumber = protocolNumber
        self.port = port
    }

    /// struct probe_flow's bytes (bpf/drop_reasons.bpf.c): family, protocol, port (network
    /// order), then each address in 16 bytes.
    var record: [UInt8] {
        var bytes: [UInt8] = [b.isIPv4 ? 4 : 6, protocolNumber, UInt8((port ?? 0) >> 8), UInt8((port ?? 0) & 0xFF)]
        for address in [a, b] {
            let raw = address?.bytes ?? []
            bytes += raw + [UInt8](repeating: 0, count: 16 - raw.count)
        }
        return bytes
    }
}

/// What the kernel dropped of the probe while the tracer was attached.
public struct DropReasonResult: Sendable, Equatable {
    public var drops: [KernelDrop]
    /// Records the ring could not hold (said, so an empty list is not mistaken for "none").
    public var lost: UInt64
    /// The records as the program wrote them (a recording keeps them for the unit tests).
    public var records: [[UInt8]]
    public init(drops: [KernelDrop], lost: UInt64 = 0, records: [[UInt8]] = []) {
        self.drops = drops
        self.lost = lost
        self.records = records
    }
}

/// The kernel's own reason for each of the probe's packets it frees as a drop: the program of
/// bpf/drop_reasons.bpf.c on the skb:kfree_skb raw tracepoint, filtered in the kernel to the
/// probe's flows, reporting through a ring buffer.
///
/// Loaded for one probe and removed by `finish()` (or when the tracer is released). Nothing is
/// pinned: the program, its maps and its attachment live only as this process's file
/// descriptors, so a run that is killed leaves nothing behind (the kernel drops them with the
/// process), and nothing else on the node is changed.
public final class DropReasonTracer: @unchecked Sendable {
    public static let programName = "netdoctor_drop_reason"
    private var object: OpaquePointer?
    private var link: OpaquePointer?
    private var ring: OpaquePointer?
    private var lostMap: Int32 = -1
    private let names: DropReasonNames
    fileprivate var records: [[UInt8]] = []
    private var finished: DropReasonResult?

    private init(names: DropReasonNames) { self.names = names }

    deinit { _ = finish() }

    /// Loads and attaches the program for `flows` (at most two). Throws, in one line, when the
    /// kernel or the node cannot: no libbpf, no BTF, a kernel before drop reasons, no privileges.
    public static func start(flows: [ProbeFlow]) throws(BPFError) -> DropReasonTracer {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        let names: DropReasonNames
        switch DropReasonNames.kernel() {
        case .success(let found): names = found
        case .failure(let error): throw error
        }
        let tracer = DropReasonTracer(names: names)
        do {
            try tracer.load(flows: Array(flows.prefix(2)))
        } catch {
            _ = tracer.finish()
            throw error
        }
        return tracer
    }

    private func load(flows: [ProbeFlow]) throws(BPFError) {
        guard let object = bpf_object__open_mem(netdoctor_drop_reasons_object(), netdoctor_drop_reasons_object_size(), nil) else {
            throw .failed("the drop-reason program could not be opened", returned: -errno)
        }
        self.object = object
        let loaded = bpf_object__load(object)
        guard loaded == 0 else { throw .failed("the drop-reason program could not be loaded", returned: loaded) }
        guard let program = bpf_object__find_program_by_name(object, Self.programName),
            let flowMap = bpf_object__find_map_by_name(object, "probe_flows"),
            let events = bpf_object__find_map_by_name(object, "drop_events"),
            let lost = bpf_object__find_map_by_name(object, "lost_events")
        else { throw BPFError("the drop-reason object lacks its program or maps (rebuild it with scripts/gen-bpf)") }
        lostMap = bpf_map__fd(lost)
        for (slot, flow) in flows.enumerated() {
            var key = UInt32(slot)
            let status = flow.record.withUnsafeBytes { bpf_map_update_elem(bpf_map__fd(flowMap), &key, $0.baseAddress, 0) }
            guard status == 0 else { throw .failed("the probe's flow could not be written", returned: status) }
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard
            let ring = ring_buffer__new(
                bpf_map__fd(events),
                { context, data, size in
                    guard let context, let data else { return 0 }
                    let tracer = Unmanaged<DropReasonTracer>.fromOpaque(context).takeUnretainedValue()
                    // Bounded: a probe's drops are a handful; a flood of them is summarised by the count.
                    if tracer.records.count < 256 { tracer.records.append(Array(UnsafeRawBufferPointer(start: data, count: size))) }
                    return 0
                }, context, nil)
        else { throw .failed("the drop-reason ring buffer could not be opened", returned: -errno) }
        self.ring = ring
        guard let link = bpf_program__attach_raw_tracepoint(program, "kfree_skb") else {
            throw .failed("the drop-reason program could not be attached to skb:kfree_skb", returned: -errno)
        }
        self.link = link
    }

    /// Detaches and unloads everything, then returns what was reported; safe to call again.
    public func finish() -> DropReasonResult {
        if let finished { return finished }
        if let ring {
            _ = ring_buffer__poll(ring, 5)
            _ = ring_buffer__consume(ring)
        }
        var lost: UInt64 = 0
        if lostMap >= 0 {
            var key: UInt32 = 0
            _ = bpf_map_lookup_elem(lostMap, &key, &lost)
        }
        if let link { _ = bpf_link__destroy(link) }
        if let ring { ring_buffer__free(ring) }
        if let object { bpf_object__close(object) }
        link = nil
        ring = nil
        object = nil
        let drops = records.compactMap { DropEventRecord.parse($0[...], names: names) }
        let result = DropReasonResult(drops: Self.named(drops), lost: lost, records: records)
        finished = result
        return result
    }

    /// Each drop's location named from /proc/kallsyms, when it can be read.
    static func named(_ drops: [KernelDrop]) -> [KernelDrop] {
        // The running kernel's, whatever --root says: the drops are this kernel's.
        guard !drops.isEmpty, let bytes = try? NodeRoot("/").read("/proc/kallsyms", limit: 64 << 20) else { return drops }
        let functions = KernelSymbols.name(Set(drops.map(\.location)), kallsyms: bytes)
        return drops.map { drop in
            var drop = drop
            drop.function = functions[drop.location]
            return drop
        }
    }
}

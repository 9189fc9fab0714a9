import CPcap
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Why a capture point could not be opened or read, with the contract's exit status.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case badFilter, noSuchInterface, permission, other }
    public var kind: Kind
    public var message: String
    public var description: String { message }
}

/// One libpcap handle, activated inside its namespace (pcap_activate creates the packet socket,
/// which stays bound to the namespace it was made in) and then read from any one thread.
public final class PcapHandle: @unchecked Sendable {
    let pcap: OpaquePointer
    public let linkType: Int32
    public let snapLength: Int32
    public let fd: Int32

    /// Opens `interface` in the calling thread's namespace: a large buffer for bursts, nanosecond
    /// timestamps, non-blocking reads. Immediate mode hands over each packet as it comes
    /// (TPACKET_V2, one ring slot per packet, sized for the largest offloaded frame); without
    /// it the kernel fills blocks of packets (TPACKET_V3, as tcpdump -w), handed over when full
    /// or after `blockTimeoutMilliseconds`: far fewer wake-ups and less memory under floods.
    public init(
        interface: String, filter: String?, snapLength: Int32 = 262_144, bufferBytes: Int32 = 4 << 20,
        immediate: Bool = true, blockTimeoutMilliseconds: Int32 = 100
    ) throws(CaptureError) {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pcap = pcap_create(interface, &errbuf) else {
            throw CaptureError(
                kind: .other,
                message: "\(interface): \(String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        pcap_set_snaplen(pcap, snapLength)
        pcap_set_promisc(pcap, 1)
        pcap_set_immediate_mode(pcap, immediate ? 1 : 0)
        pcap_set_timeout(pcap, blockTimeoutMilliseconds)
        pcap_set_buffer_size(pcap, bufferBytes)
        pcap_set_tstamp_precision(pcap, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(pcap)
        if status < 0 {
            let detail = String(cString: pcap_geterr(pcap))
            pcap_close(pcap)
            switch status {
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw CaptureError(kind: .noSuchInterface, message: "no interface \(interface) here")
            case PCAP_ERROR_PERM_DENIED:
                throw CaptureError(kind: .permission, message: "capturing on \(interface) needs CAP_NET_RAW (run as root): \(detail)")
            default:
                throw CaptureError(kind: .other, message: "cannot capture on \(interface): \(detail)")
            }
        }
        if let filter, !filter.isEmpty {
            var program = bpf_program()
            guard pcap_compile(pcap, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                let detail = String(cString: pcap_geterr(pcap))
                pcap_close(pcap)
                throw CaptureError(kind: .badFilter, message: "bad capture filter \"\(filter)\": \(detail)")
            }
            let set = pcap_setfilter(pcap, &program)
            pcap_freecode(&program)
            guard set == 0 else {
                let detail = String(cString: pcap_geterr(pcap))
                pcap_close(pcap)
                throw CaptureError(kind: .other, message: "cannot set the filter on \(interface): \(detail)")
            }
        }
        pcap_setnonblock(pcap, 1, &errbuf)
        self.pcap = pcap
        linkType = pcap_datalink(pcap)
        self.snapLength = pcap_snapshot(pcap)
        fd = pcap_get_selectable_fd(pcap)
    }

    private var isClosed = false

    /// Closes the handle now rather than at deinit; reading it afterwards is a bug.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        pcap_close(pcap)
    }

    deinit { close() }

    /// Every packet waiting now (non-blocking), their bytes copied into one shared buffer per
    /// call: one allocation for a burst, not one per packet.
    func drain(point: Int, into packets: inout [Packet]) -> Bool {
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        var arena: [UInt8] = []
        var metas: [(seconds: Int64, nanoseconds: Int64, length: Int, start: Int, end: Int)] = []
        var status: Int32 = 0
        while true {
            status = pcap_next_ex(pcap, &header, &data)
            guard status == 1, let header, let data else { break }
            let h = header.pointee
            let start = arena.count
            arena.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(h.caplen)))
            metas.append((Int64(h.ts.tv_sec), Int64(h.ts.tv_usec), Int(h.len), start, arena.count))
        }
        for m in metas {
            packets.append(
                Packet(
                    seconds: m.seconds, nanoseconds: m.nanoseconds, originalLength: m.length,
                    bytes: arena[m.start..<m.end], point: point))
        }
        return status >= 0  // 0: nothing more now; <0: error or break
    }

    /// Every packet waiting now, handed to `body` straight from libpcap's buffer (valid only
    /// during the call): the single-point path to a file copies nothing else.
    /// pcap_dispatch, not pcap_next_ex: a whole kernel block per call instead of a call (and a
    /// ring check) per packet.
    func drainRaw(_ body: @escaping (Int64, Int64, Int, UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        let context = DispatchContext(body: body, pcap: pcap)
        let unmanaged = Unmanaged.passRetained(context)
        defer { unmanaged.release() }
        let user = UnsafeMutableRawPointer(unmanaged.toOpaque()).assumingMemoryBound(to: UInt8.self)
        let status = pcap_dispatch(
            pcap, -1,
            { user, header, data in
                guard let user, let header, let data else { return }
                let context = Unmanaged<DispatchContext>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
                let h = header.pointee
                if !context.body(
                    Int64(h.ts.tv_sec), Int64(h.ts.tv_usec), Int(h.len), UnsafeBufferPointer(start: data, count: Int(h.caplen)))
                {
                    pcap_breakloop(context.pcap)
                }
            }, user)
        return status >= 0 || status == PCAP_ERROR_BREAK
    }

    /// The kernel's counts: packets received by the filter, dropped for lack of buffer space.
    public var statistics: (received: UInt64, dropped: UInt64, interfaceDropped: UInt64) {
        var stats = pcap_stat()
        guard pcap_stats(pcap, &stats) == 0 else { return (0, 0, 0) }
        return (UInt64(stats.ps_recv), UInt64(stats.ps_drop), UInt64(stats.ps_ifdrop))
    }
}

/// One captured packet: when (nanoseconds), how long it was, what was kept of it.
public struct Packet: Sendable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public var originalLength: Int
    /// What was captured (a slice of its burst's shared buffer).
    public var bytes: ArraySlice<UInt8>
    /// Which capture point saw it (index into the session's points).
    public var point: Int = 0

    public init(seconds: Int64, nanoseconds: Int64, originalLength: Int, bytes: ArraySlice<UInt8>, point: Int = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.originalLength = originalLength
        self.bytes = bytes
        self.point = point
    }

    public var timestamp: Int64 { seconds * 1_000_000_000 + nanoseconds }
}

/// What a pcap_dispatch callback needs: the closure to call, and the handle to stop.
final class DispatchContext {
    let body: (Int64, Int64, Int, UnsafeBufferPointer<UInt8>) -> Bool
    let pcap: OpaquePointer
    init(body: @escaping (Int64, Int64, Int, UnsafeBufferPointer<UInt8>) -> Bool, pcap: OpaquePointer) {
        self.body = body
        self.pcap = pcap
    }
}

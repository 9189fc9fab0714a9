import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Writes pcapng (libpcap writes only classic pcap): a section header, one interface
/// description block per capture point (its name, link type, snap length, nanosecond
/// timestamps), enhanced packet blocks in time order, and interface statistics blocks with the
/// kernel's counts at the end. Wireshark and tshark read it.
public final class PcapNGWriter {
    let fd: Int32
    public let path: String
    /// Output not yet written: raw memory, so that the per-packet path is a few stores and
    /// copies, with no array growth, uniqueness or exclusivity checks (a flood writes tens of
    /// thousands of blocks a second; only the capture thread writes packets).
    private let buffer: UnsafeMutableRawPointer
    private static let flushAt = 1 << 20
    /// Room for one more block past `flushAt`: the largest packet (snap length ≤ 256 KiB) and its header.
    private static let capacity = flushAt + (256 << 10) + 64
    @exclusivity(unchecked) private var used = 0
    @exclusivity(unchecked) private(set) public var packetsWritten = 0
    /// Bytes on disk so far: always whole blocks.
    private var fileLength = 0
    /// Packets on disk so far (whole blocks).
    private(set) public var packetsOnDisk = 0
    @exclusivity(unchecked) private var packetsBuffered = 0
    /// The first write error (ENOSPC, EIO, EPIPE): from then on the writer takes nothing more,
    /// and the file ends at the last whole block that reached it. Read on every packet by the one
    /// thread that writes: no dynamic exclusivity check.
    @exclusivity(unchecked) private(set) public var failure: CaptureError?

    /// Creates the file (0644, truncating). Throws with a readable message when it cannot.
    public init(path: String, interfaces: [(name: String, linkType: Int32, snapLength: Int32)]) throws(CaptureError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CaptureError(kind: .other, message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.path = path
        buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.capacity, alignment: 8)
        var shb = BlockBuilder(type: 0x0A0D_0D0A)
        shb.u32(0x1A2B_3C4D)
        shb.u16(1); shb.u16(0)
        shb.u64(UInt64.max)  // section length unknown
        shb.option(4, Array("netdoctor".utf8))  // shb_userappl
        shb.endOptions()
        append(shb.finish())
        for interface in interfaces {
            var idb = BlockBuilder(type: 1)
            idb.u16(UInt16(truncatingIfNeeded: interface.linkType)); idb.u16(0)
            idb.u32(UInt32(truncatingIfNeeded: interface.snapLength))
            idb.option(2, Array(interface.name.utf8))  // if_name
            idb.option(9, [9])  // if_tsresol: 10^-9 s
            idb.endOptions()
            append(idb.finish())
        }
        try flush()
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// A whole block built by BlockBuilder (headers and statistics, not the per-packet path).
    private func append(_ block: [UInt8]) {
        var rest = block[...]
        while !rest.isEmpty, failure == nil {
            if used == Self.capacity { try? flush(); continue }
            let n = min(rest.count, Self.capacity - used)
            rest.prefix(n).withUnsafeBytes { (buffer + used).copyMemory(from: $0.baseAddress!, byteCount: n) }
            used += n
            rest = rest.dropFirst(n)
        }
    }

    /// An enhanced packet block, written straight into the output buffer (a flood writes tens of
    /// thousands a second).
    public func write(_ packet: Packet) throws(CaptureError) {
        try packet.bytes.withUnsafeBufferPointer { bytes throws(CaptureError) in
            try write(point: packet.point, timestamp: packet.timestamp, originalLength: packet.originalLength, bytes: bytes)
        }
    }

    public func write(point: Int, timestamp: Int64, originalLength: Int, bytes: UnsafeBufferPointer<UInt8>) throws(CaptureError) {
        // After a failed write the buffer is not drained: nothing more may go into it.
        if let failure { throw failure }
        let count = min(bytes.count, 256 << 10)
        let padded = (count + 3) & ~3
        let total = UInt32(32 + padded)
        let ts = UInt64(max(0, timestamp))
        // The block's seven header words, the data, zero padding, the length again: little-endian.
        var at = buffer + used
        let header: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (
                UInt32(6).littleEndian, total.littleEndian, UInt32(point).littleEndian, UInt32(ts >> 32).littleEndian,
                UInt32(ts & 0xFFFF_FFFF).littleEndian, UInt32(count).littleEndian, UInt32(truncatingIfNeeded: originalLength).littleEndian
            )
        withUnsafeBytes(of: header) { at.copyMemory(from: $0.baseAddress!, byteCount: 28) }
        at += 28
        if let base = bytes.baseAddress, count > 0 { at.copyMemory(from: base, byteCount: count) }
        at += count
        if padded > count { at.initializeMemory(as: UInt8.self, repeating: 0, count: padded - count) }
        at += padded - count
        at.storeBytes(of: total.littleEndian, as: UInt32.self)
        used += Int(total)
        packetsWritten += 1
        packetsBuffered += 1
        if used > Self.flushAt { try flush() }
    }

    /// Interface statistics (isb_ifrecv, isb_ifdrop) for each point, then everything to disk.
    public func finish(statistics: [(received: UInt64, dropped: UInt64)], timestamp: Int64) throws(CaptureError) {
        if let failure { throw failure }
        for (index, stats) in statistics.enumerated() {
            var isb = BlockBuilder(type: 5)
            let ts = UInt64(max(0, timestamp))
            isb.u32(UInt32(index))
            isb.u32(UInt32(ts >> 32)); isb.u32(UInt32(ts & 0xFFFF_FFFF))
            var recv = BlockBuilder(type: 0); recv.u64(stats.received)
            var drop = BlockBuilder(type: 0); drop.u64(stats.dropped)
            isb.option(4, recv.body)
            isb.option(5, drop.body)
            isb.endOptions()
            append(isb.finish())
        }
        try flush()
        fsync(fd)
    }

    func flush() throws(CaptureError) {
        if let failure { throw failure }
        var done = 0
        while done < used {
            let n = retryingOnInterrupt { Glibc.write(fd, buffer + done, used - done) }
            if n <= 0 {
                let error = n < 0 ? errno : EIO
                fail(afterWriting: done, errno: error)
                throw failure ?? CaptureError(kind: .other, message: "cannot write \(path)")
            }
            done += n
        }
        fileLength += used
        packetsOnDisk += packetsBuffered
        packetsBuffered = 0
        used = 0
    }

    /// Cuts the file back to the last whole block that reached it (a partial write can end in the
    /// middle of a packet) and refuses everything after.
    private func fail(afterWriting written: Int, errno error: Int32) {
        var boundary = 0
        while boundary + 12 <= written {
            let type = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: boundary, as: UInt32.self))
            let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: boundary + 4, as: UInt32.self)))
            guard length >= 12, boundary + length <= written else { break }
            if type == 6 { packetsOnDisk += 1 }
            boundary += length
        }
        fileLength += boundary
        _ = ftruncate(fd, off_t(fileLength))
        used = 0
        packetsBuffered = 0
        failure = CaptureError(
            kind: .other,
            message: "cannot write \(path): \(String(cString: strerror(error))); it keeps the first \(packetsOnDisk) packets, each whole")
    }
}

/// A pcapng block: type, total length, body, options, total length again; little-endian.
struct BlockBuilder {
    let type: UInt32
    var body: [UInt8] = []

    init(type: UInt32) { self.type = type }

    mutating func u16(_ v: UInt16) { body += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { u16(UInt16(v & 0xFFFF)); u16(UInt16(v >> 16)) }
    mutating func u64(_ v: UInt64) { u32(UInt32(v & 0xFFFF_FFFF)); u32(UInt32(v >> 32)) }
    mutating func pad() { while body.count % 4 != 0 { body.append(0) } }
    mutating func bytes(_ b: [UInt8]) { body += b; pad() }
    mutating func option(_ code: UInt16, _ value: [UInt8]) { u16(code); u16(UInt16(value.count)); bytes(value) }
    mutating func endOptions() { u16(0); u16(0) }

    func finish() -> [UInt8] {
        let total = UInt32(12 + body.count)
        var out = BlockBuilder(type: 0)
        out.u32(type); out.u32(total)
        out.body += body
        out.u32(total)
        return out.body
    }
}

/// Integers as a BPF map's keys and values hold them (host order, little-endian on the machines
/// netdoctor runs on), read from a record's bytes. One reader for every layout; a read past the
/// end is nil, never a trap.
public enum HostOrder {
    public static func u32<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at offset: Int) -> UInt32? where Bytes.Index == Int {
        guard offset >= 0, offset + 4 <= bytes.count else { return nil }
        let base = bytes.startIndex + offset
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[base + $1]) << (8 * UInt32($1)) }
    }

    public static func u64<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, at offset: Int) -> UInt64? where Bytes.Index == Int {
        guard let low = u32(bytes, at: offset), let high = u32(bytes, at: offset + 4) else { return nil }
        return UInt64(low) | UInt64(high) << 32
    }
}

/// SipHash-2-4 (Aumasson and Bernstein), as systemd's siphash24 computes it: what udev hashes a
/// persistent MAC address from (UdevMACPolicy).
enum SipHash24 {
    static func hash(_ message: [UInt8], key: [UInt8]) -> UInt64 {
        precondition(key.count == 16)
        let k0 = littleEndian(key, at: 0), k1 = littleEndian(key, at: 8)
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1
        func round() {
            v0 &+= v1; v1 = rotate(v1, 13); v1 ^= v0; v0 = rotate(v0, 32)
            v2 &+= v3; v3 = rotate(v3, 16); v3 ^= v2
            v0 &+= v3; v3 = rotate(v3, 21); v3 ^= v0
            v2 &+= v1; v1 = rotate(v1, 17); v1 ^= v2; v2 = rotate(v2, 32)
        }
        func compress(_ m: UInt64) {
            v3 ^= m
            round(); round()
            v0 ^= m
        }
        let whole = message.count / 8 * 8
        for offset in stride(from: 0, to: whole, by: 8) { compress(littleEndian(message, at: offset)) }
        // The last block: the bytes left, and the message's length in its top byte.
        var last = UInt64(truncatingIfNeeded: message.count) << 56
        for (shift, byte) in message[whole...].enumerated() { last |= UInt64(byte) << (8 * UInt64(shift)) }
        compress(last)
        v2 ^= 0xff
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }

    private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 { (value << bits) | (value >> (64 - bits)) }

    private static func littleEndian(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}

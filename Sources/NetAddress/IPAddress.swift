#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// An IPv4 or IPv6 address, parsed with inet_pton so it accepts exactly what the kernel's tools
/// accept. Stored inline (no heap allocation): a route dump holds tens of thousands of them.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address bytes in network order, left-aligned (IPv4 uses the first 4).
    fileprivate(set) var high: UInt64
    fileprivate(set) var low: UInt64
    public let isIPv4: Bool

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address has 4 or 16 bytes")
        self.init(unchecked: bytes[...])
    }

    /// Concrete, not generic: called for every address of a dump, across modules, where a
    /// generic initialiser would not be specialised.
    private init(unchecked bytes: ArraySlice<UInt8>) {
        isIPv4 = bytes.count == 4
        var h: UInt64 = 0, l: UInt64 = 0
        var i = 0
        for b in bytes {
            if i < 8 { h |= UInt64(b) << UInt64(56 - 8 * i) } else { l |= UInt64(b) << UInt64(56 - 8 * (i - 8)) }
            i += 1
        }
        high = h
        low = l
    }

    /// Clears every bit from `length` on (counted from the first byte, as a prefix length is).
    mutating func clearHostBits(from length: Int) {
        let bits = max(0, min(length, isIPv4 ? 32 : 128))
        if bits < 64 {
            high &= bits == 0 ? 0 : ~UInt64(0) << UInt64(64 - bits); low = 0
        } else if bits < 128 {
            low &= bits == 64 ? 0 : ~UInt64(0) << UInt64(128 - bits)
        }
    }

    /// The 4 or 16 bytes, in network order.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))) }
        if isIPv4 { return Array(out.prefix(4)) }
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i))) }
        return out
    }

    public static func parse(_ text: String) -> IPAddress? {
        if let quad = dottedQuad(text) { return quad }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return IPAddress(bytes: withUnsafeBytes(of: &v4) { Array($0) })
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return IPAddress(bytes: withUnsafeBytes(of: &v6) { Array($0) })
        }
        return nil
    }

    /// "10.244.1.2" read straight from its bytes, as inet_pton reads it (four decimal numbers of
    /// at most three digits, none above 255, no leading zero): Service tables parse tens of
    /// thousands, and the C call costs a String conversion each. Anything else: nil, and
    /// inet_pton decides.
    static func dottedQuad(_ text: String) -> IPAddress? {
        var value: UInt64 = 0
        var part: UInt32 = 0, digits = 0, parts = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | UInt64(part)
                parts += 1
                part = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                guard digits < 3, !(digits == 1 && part == 0) else { return nil }
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                guard part <= 255 else { return nil }
                digits += 1
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        value = value << 8 | UInt64(part)
        var address = IPAddress(bytes: [0, 0, 0, 0])
        address.high = value << 32
        return address
    }

    public var description: String {
        if isIPv4 {
            // The common case, written digit by digit: route dumps print tens of thousands.
            let v = UInt32(truncatingIfNeeded: high >> 32)
            return String(unsafeUninitializedCapacity: 15) { buffer in
                var n = 0
                for shift in [24, 16, 8, 0] as [UInt32] {
                    let octet = (v >> shift) & 0xFF
                    if octet >= 100 { buffer[n] = UInt8(48 + octet / 100); n += 1 }
                    if octet >= 10 { buffer[n] = UInt8(48 + octet / 10 % 10); n += 1 }
                    buffer[n] = UInt8(48 + octet % 10); n += 1
                    if shift > 0 { buffer[n] = UInt8(ascii: "."); n += 1 }
                }
                return n
            }
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        bytes.withUnsafeBytes { raw in
            _ = inet_ntop(AF_INET6, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An address prefix such as 10.244.1.0/24.
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public var address: IPAddress
    public var length: Int

    public init(address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    public static func parse(_ text: String) -> IPPrefix? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let head = parts.first, let address = IPAddress.parse(String(head)) else { return nil }
        let max = address.isIPv4 ? 32 : 128
        let length = parts.count == 2 ? Int(parts[1]) : max
        guard let length, (0...max).contains(length) else { return nil }
        return IPPrefix(address: address, length: length)
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.isIPv4 == address.isIPv4 else { return false }
        var bits = length
        for (a, b) in zip(address.bytes, other.bytes) {
            if bits <= 0 { return true }
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if a & mask != b & mask { return false }
            bits -= 8
        }
        return true
    }

    /// RFC 1918, RFC 6598 (CGNAT), link-local, loopback, and IPv6 ULA/link-local: the ranges a
    /// pod network is expected to use.
    public var isPrivateRange: Bool {
        let privates = [
            "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
            "127.0.0.0/8", "fc00::/7", "fe80::/10",
        ].compactMap(IPPrefix.parse)
        return privates.contains { $0.length <= length && $0.contains(address) }
    }

    public var description: String { "\(address)/\(length)" }

    /// The prefix of `length` bits that holds `address` (its host bits cleared).
    public static func around(_ address: IPAddress, length: Int) -> IPPrefix {
        var bits = length
        let bytes = address.bytes.map { byte -> UInt8 in
            defer { bits -= 8 }
            return bits >= 8 ? byte : bits <= 0 ? 0 : byte & ~(0xFF >> UInt8(bits))
        }
        return IPPrefix(address: IPAddress(bytes: bytes), length: length)
    }
}

extension IPAddress {
    /// 4 or 16 bytes as they come off the wire; nil for other lengths.
    public init?(wire bytes: ArraySlice<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.init(unchecked: bytes)
    }

    public var isUnspecified: Bool { high == 0 && low == 0 }

    /// fe80::/10 (every IPv6 interface's own link-local address and route), or 169.254.0.0/16.
    public var isLinkLocal: Bool { isIPv4 ? high >> 48 == 0xA9FE : high >> 54 == 0x3FA }

    /// 127.0.0.0/8 or ::1: an address that never leaves its namespace.
    public var isLoopback: Bool { isIPv4 ? high >> 56 == 127 : high == 0 && low == 1 }
}

/// An Ethernet (or other link-layer) address, printed as ip prints it.
public struct LinkAddress: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public static func parse(_ text: String) -> LinkAddress? {
        let parts = text.split(separator: ":")
        guard parts.count >= 1 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count <= 2, let b = UInt8(part, radix: 16) else { return nil }
            bytes.append(b)
        }
        return LinkAddress(bytes)
    }

    public var description: String {
        bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: ":")
    }
}

/// An IP address family, as the commands name it (`--family 4|6`).
public enum IPFamily: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case ipv4 = 4, ipv6 = 6

    public init?(_ text: String) {
        switch text.lowercased() {
        case "4", "ipv4", "inet": self = .ipv4
        case "6", "ipv6", "inet6": self = .ipv6
        default: return nil
        }
    }

    /// "IPv4" or "IPv6".
    public var description: String { "IPv\(rawValue)" }

    /// The ICMP message that carries a path's MTU back to the sender: IPv4's "fragmentation
    /// needed" (type 3 code 4), IPv6's "packet too big" (ICMPv6 type 2; routers never fragment).
    public var tooBig: String { self == .ipv4 ? "ICMP \"fragmentation needed\"" : "ICMPv6 \"packet too big\"" }
    public static func < (a: IPFamily, b: IPFamily) -> Bool { a.rawValue < b.rawValue }
}

extension IPAddress {
    public var family: IPFamily { isIPv4 ? .ipv4 : .ipv6 }
}

/// Counting addresses: how many lie between two, the one n further on, a prefix's first and
/// last. What an IPAM range's size and its defaults are computed with (host-local's range.go
/// counts the same way). Counts saturate: an IPv6 /64 holds more than any UInt64 counts, and
/// "more than 2^64" is all a check needs to know.
extension IPAddress {
    /// The address as one 128-bit number, split: IPv4 in the low 32 bits of `low`.
    var wide: (high: UInt64, low: UInt64) { isIPv4 ? (0, high >> 32) : (high, low) }

    init(wide: (high: UInt64, low: UInt64), ipv4: Bool) {
        if ipv4 {
            let v = UInt32(truncatingIfNeeded: wide.low)
            self.init(bytes: [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)])
        } else {
            var bytes: [UInt8] = []
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: wide.high >> UInt64(56 - 8 * i))) }
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: wide.low >> UInt64(56 - 8 * i))) }
            self.init(bytes: bytes)
        }
    }

    /// How many addresses from `self` to `other`, both counted (`self` ≤ `other`, one family);
    /// nil otherwise. UInt64.max when there are more.
    public func count(through other: IPAddress) -> UInt64? {
        guard isIPv4 == other.isIPv4, self <= other else { return nil }
        let (a, b) = (wide, other.wide)
        let (lowDifference, borrow) = b.low.subtractingReportingOverflow(a.low)
        let highDifference = b.high &- a.high &- (borrow ? 1 : 0)
        guard highDifference == 0, lowDifference < UInt64.max else { return UInt64.max }
        return lowDifference + 1
    }

    /// The address `n` further on (or back, for a negative n); nil past the family's end.
    public func advanced(by n: Int64) -> IPAddress? {
        var (high, low) = wide
        if n >= 0 {
            let (sum, carry) = low.addingReportingOverflow(UInt64(n))
            low = sum
            if carry {
                high &+= 1
                if high == 0 { return nil }
            }
        } else {
            let (difference, borrow) = low.subtractingReportingOverflow(UInt64(n.magnitude))
            low = difference
            if borrow {
                if high == 0 { return nil }
                high -= 1
            }
        }
        if isIPv4, high != 0 || low > UInt64(UInt32.max) { return nil }
        return IPAddress(wide: (high, low), ipv4: isIPv4)
    }
}

extension IPAddress: Comparable {
    /// Numeric order within a family; IPv4 before IPv6.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.isIPv4 != b.isIPv4 { return a.isIPv4 }
        let (x, y) = (a.wide, b.wide)
        return x.high != y.high ? x.high < y.high : x.low < y.low
    }
}

extension IPPrefix {
    /// The prefix's first address (its network address).
    public var first: IPAddress { IPPrefix.around(address, length: length).address }

    /// The prefix's last address (IPv4: its broadcast address).
    public var last: IPAddress {
        let bits = (address.isIPv4 ? 32 : 128) - length
        var (high, low) = first.wide
        if address.isIPv4 {
            low |= bits >= 32 ? UInt64(UInt32.max) : (UInt64(1) << UInt64(bits)) - 1
        } else if bits >= 64 {
            low = UInt64.max
            high |= bits >= 128 ? UInt64.max : bits == 64 ? 0 : (UInt64(1) << UInt64(bits - 64)) - 1
        } else {
            low |= bits == 0 ? 0 : (UInt64(1) << UInt64(bits)) - 1
        }
        return IPAddress(wide: (high, low), ipv4: address.isIPv4)
    }
}

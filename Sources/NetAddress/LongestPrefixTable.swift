/// Longest-prefix match over many prefixes, as the kernel's FIB answers it for one table: each
/// prefix length a hash of masked addresses, tried longest first. A lookup costs one hash probe
/// per distinct length (at most 33 or 129), whatever the number of prefixes, where a scan costs
/// one comparison per prefix: thousands of endpoints against tens of thousands of routes.
public struct LongestPrefixTable<Value: Sendable>: Sendable {
    private var byLength: [Int: [IPAddress: Value]] = [:]
    private var lengths4: [Int] = []
    private var lengths6: [Int] = []

    /// The first value given for a prefix is kept (callers order duplicates as they rank them).
    public init(_ entries: [(prefix: IPPrefix, value: Value)]) {
        for (prefix, value) in entries {
            let key = prefix.address.masked(to: prefix.length)
            // Lengths are kept per family: an IPv4 /24 and an IPv6 /24 share the length only.
            if byLength[prefix.length]?[key] == nil { byLength[prefix.length, default: [:]][key] = value }
            if prefix.address.isIPv4 { lengths4.append(prefix.length) } else { lengths6.append(prefix.length) }
        }
        lengths4 = Array(Set(lengths4)).sorted(by: >)
        lengths6 = Array(Set(lengths6)).sorted(by: >)
    }

    /// The value of the longest prefix holding `address`.
    public func lookup(_ address: IPAddress) -> Value? {
        for length in address.isIPv4 ? lengths4 : lengths6 {
            if let value = byLength[length]?[address.masked(to: length)] { return value }
        }
        return nil
    }
}

extension IPAddress {
    /// The address with its host bits past `length` cleared (the prefix's network address).
    public func masked(to length: Int) -> IPAddress {
        var copy = self
        copy.clearHostBits(from: length)
        return copy
    }
}

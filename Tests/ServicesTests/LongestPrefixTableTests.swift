import NetAddress
import Testing

/// The longest-prefix table answers as a scan over every prefix, longest first, does: on
/// thousands of prefixes of every length in both families (a fixed pseudo-random sequence).
@Suite("longest-prefix match")
struct LongestPrefixTableTests {
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
    }

    @Test("the table agrees with a scan, longest first, first of equals kept; masking clears host bits")
    func agreesWithScan() throws {
        var random = Generator(state: 26)
        var entries: [(prefix: IPPrefix, value: Int)] = []
        for i in 0..<3000 {
            let v4 = random.next() % 2 == 0
            // Few distinct high bytes, so that prefixes nest and overlap.
            let bytes = (0..<(v4 ? 4 : 16)).map { j in UInt8(truncatingIfNeeded: j < 2 ? random.next() % 3 : random.next()) }
            let length = Int(random.next() % UInt64(v4 ? 33 : 129))
            entries.append((IPPrefix(address: IPAddress(bytes: bytes), length: length), i))
        }
        let table = LongestPrefixTable(entries)
        let ranked = entries.enumerated().sorted {
            $0.element.prefix.length != $1.element.prefix.length
                ? $0.element.prefix.length > $1.element.prefix.length : $0.offset < $1.offset
        }
        for _ in 0..<3000 {
            let v4 = random.next() % 2 == 0
            let address = IPAddress(
                bytes: (0..<(v4 ? 4 : 16)).map { j in UInt8(truncatingIfNeeded: j < 2 ? random.next() % 3 : random.next()) })
            let scanned = ranked.first { $0.element.prefix.contains(address) }?.element.value
            #expect(table.lookup(address) == scanned, "\(address)")
        }
        let address = try #require(IPAddress.parse("10.244.130.7"))
        #expect(address.masked(to: 17).description == "10.244.128.0" && address.masked(to: 0).description == "0.0.0.0")
        #expect(address.masked(to: 32) == address)
        let v6 = try #require(IPAddress.parse("fd00:10:244:2::2"))
        #expect(v6.masked(to: 64).description == "fd00:10:244:2::" && v6.masked(to: 48).description == "fd00:10:244::")
        #expect(v6.masked(to: 128) == v6 && v6.masked(to: 96).description == "fd00:10:244:2::")
        // An IPv4 and an IPv6 prefix of one length do not answer for each other.
        let mixed = LongestPrefixTable([(IPPrefix(address: try #require(IPAddress.parse("::")), length: 0), "v6 default")])
        #expect(mixed.lookup(address) == nil && mixed.lookup(v6) == "v6 default")
    }
}

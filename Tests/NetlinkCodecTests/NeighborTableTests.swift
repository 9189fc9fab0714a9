import NetlinkCodec
import TestSupport
import Testing

/// RTM_NEWNEIGHTBL as the kernel answered `ip -s ntable show` from a namespace other than the
/// initial one (scripts/capture-netlink-fixtures ntable: the ARP table overfilled for a moment, so
/// table_fulls counts), against iproute2's own text of the same answer.
@Suite("neighbour tables over rtnetlink (RTM_GETNEIGHTBL)")
struct NeighborTableTests {
    @Test("the ARP and NDP tables: thresholds, entries and table_fulls as `ip -s ntable` prints them; per-device messages left out")
    func tables() throws {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/ntable-dump.bin"))
        let messages = try NetlinkMessage.parseAll(bytes)
        let tables = try messages.compactMap { try NeighborTableInfo($0) }
        #expect(tables.map(\.name) == ["arp_cache", "ndisc_cache"])
        let text = String(
            decoding: try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/ntable-dump.ip.txt")), as: UTF8.self
        )
        // iproute2's first block of each table (the table's own, before its per-device ones).
        func number(_ key: String, after table: String) -> UInt64? {
            var blocks: [[Substring]] = []
            for line in text.split(separator: "\n") {
                if line.hasPrefix("inet") { blocks.append([]) }
                blocks[blocks.count - 1] += line.split(separator: " ")
            }
            let words = blocks.first { $0.contains(Substring(table)) && $0.contains("thresh1") } ?? []
            return words.firstIndex(of: Substring(key)).flatMap { UInt64(words[$0 + 1]) }
        }
        for table in tables {
            #expect(UInt64(table.thresholds?.0 ?? 0) == number("thresh1", after: table.name), "\(table.name)")
            #expect(UInt64(table.thresholds?.1 ?? 0) == number("thresh2", after: table.name), "\(table.name)")
            #expect(UInt64(table.thresholds?.2 ?? 0) == number("thresh3", after: table.name), "\(table.name)")
            #expect(UInt64(table.entries ?? 0) == number("entries", after: table.name), "\(table.name)")
            #expect(table.tableFulls == number("table_fulls", after: table.name), "\(table.name)")
        }
        // The overfilled ARP table: a counter that is not zero, so its offset is proven.
        #expect((tables.first?.tableFulls ?? 0) > 0)
    }

    @Test("the request encodes as an rtgenmsg dump; truncated answers parse to what is there")
    func requestAndHostile() throws {
        let request = RouteRequest.dump(.getNeighborTable)
        #expect(request.type == .getNeighborTable && Array(request.payload) == [0, 0, 0, 0])
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/ntable-dump.bin"))
        for message in try NetlinkMessage.parseAll(bytes) {
            for cut in stride(from: 0, to: message.payload.count, by: 5) {
                var shorter = message
                shorter.payload = message.payload.prefix(cut)
                _ = try? NeighborTableInfo(shorter)
            }
        }
    }
}

import NetlinkCodec
import TestSupport
import Testing

/// nf_tables trace events as the kernel sent them to `nft monitor trace` (scripts/capture-nftrace-
/// fixture: an output hook marking ICMP echo requests, a jump, a commented counting drop, one
/// ping), with the rule dump nft read for its cache in the same capture.
@Suite("nf_tables trace events on captured bytes")
struct NFTraceTests {
    func messages() throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/nftrace-events.bin"), "fixture")
        return try NetlinkMessage.parseAll(bytes)
    }

    @Test("each rule the packet met: table, chain, handle, verdict; one packet's events share an ID")
    func events() throws {
        let events = try messages().compactMap { try NFTables.traceEvent($0) }
        #expect(!events.isEmpty)
        #expect(Set(events.map(\.id)).count == 1)
        #expect(events.allSatisfy { $0.family == 2 && $0.table == "t" })
        let jump = try #require(events.first { $0.chain == "out" && $0.kind == .rule })
        #expect(jump.verdict?.words == "jump deny" && jump.handle != nil)
        let drop = try #require(events.first { $0.chain == "deny" && $0.kind == .rule })
        #expect(drop.verdict?.words == "drop")
        // The rule it names carries the comment, found by its handle in the rule dump.
        let rules = try messages().compactMap { try NFTables.rule(expressionsOf: $0) }
        let denied = try #require(rules.first { $0.handle == drop.handle && $0.chain == "deny" })
        #expect(denied.comments == ["deny ping"])
        #expect(events.first { $0.chain == "tracing" }?.verdict?.words == "continue")
    }

    @Test("hostile bytes: a trace message cut short or with wrong sizes decodes without a crash")
    func hostile() throws {
        for message in try messages() where message.type == NFTables.trace {
            for cut in stride(from: 0, to: message.payload.count, by: 3) {
                var short = message
                short.payload = message.payload.prefix(cut)
                _ = try? NFTables.traceEvent(short)
            }
        }
    }
}

import NetAddress
import NetlinkCodec
import TestSupport
import Testing

/// ctnetlink on bytes the kernel sent to conntrack-tools (conntrack -L, -G, -S) about two entries
/// inserted as kube-proxy's DNAT leaves them (scripts/capture-netlink-fixtures conntrack).
@Suite("ctnetlink codec on captured bytes")
struct ConntrackTests {
    func messages(_ name: String) throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/\(name).bin"), "fixture \(name)")
        return try NetlinkMessage.parseAll(bytes)
    }

    static func ip(_ text: String) -> IPAddress { IPAddress.parse(text)! }

    @Test(
        "conntrack -L: both entries, DNAT read as a reply source that is not the original destination, SNAT as a reply destination that is not the source"
    )
    func dump() throws {
        let entries = try messages("conntrack-dump").compactMap { try Conntrack.entry($0) }
        #expect(entries.count == 2)
        let tcp = try #require(entries.first { $0.original.proto == 6 })
        #expect(
            tcp.original
                == Conntrack.Tuple(
                    source: Self.ip("10.244.1.3"), destination: Self.ip("10.96.0.80"), proto: 6,
                    sourcePort: 40000, destinationPort: 80))
        #expect(tcp.reply.source == Self.ip("10.244.2.2") && tcp.reply.sourcePort == 8080)
        #expect(tcp.reply.destination == Self.ip("10.244.1.3"))
        #expect(tcp.destinationTranslated && !tcp.sourceTranslated && tcp.seenReply)
        #expect(tcp.timeoutSeconds.map { $0 <= 100 && $0 > 0 } == true)
        let udp = try #require(entries.first { $0.original.proto == 17 })
        #expect(udp.reply.source == Self.ip("10.244.1.2") && udp.reply.destination == Self.ip("10.244.1.1"))
        #expect(udp.destinationTranslated && udp.sourceTranslated && !udp.seenReply)
        #expect(udp.summary.contains("[UNREPLIED]"))
    }

    @Test("conntrack -G: the one entry; our lookup's tuple encodes as conntrack-tools' does")
    func lookup() throws {
        let entry = try #require(try messages("conntrack-get").compactMap { try Conntrack.entry($0) }.first)
        #expect(entry.original.destinationPort == 80 && entry.reply.source == Self.ip("10.244.2.2"))
        let sent = try #require(try messages("request-conntrack-get").first)
        let ours = Conntrack.lookup(entry.original)
        #expect(ours.type == sent.type && ours.type == Conntrack.get)
        // conntrack-tools sends the original tuple first (then a protocol-info mask we do not need).
        let tupleLength = Int(ours.payload[ours.payload.startIndex + 4]) | Int(ours.payload[ours.payload.startIndex + 5]) << 8
        #expect(Array(ours.payload.prefix(4 + tupleLength)) == Array(sent.payload.prefix(4 + tupleLength)))
    }

    @Test("conntrack -S: a message per CPU with conntrack -S's counters")
    func statistics() throws {
        let cpus = try messages("conntrack-stats").compactMap { try Conntrack.statistics($0) }
        #expect(cpus.count >= 1 && cpus.map(\.cpu) == Array(0..<UInt16(cpus.count)))
        #expect(cpus.reduce(0) { $0 + $1["insert"] } >= 2)  // the two entries inserted
        #expect(cpus.allSatisfy { $0.counters.keys.contains("insert_failed") && $0.counters.keys.contains("drop") })
    }

    @Test("truncated and foreign messages: an error or nil, never a crash")
    func hostile() throws {
        let good = try #require(try messages("conntrack-get").first)
        for cut in stride(from: 0, to: good.payload.count, by: 7) {
            let truncated = NetlinkMessage(type: good.type, flags: good.flags, payload: Array(good.payload.prefix(cut)))
            _ = try? Conntrack.entry(truncated)
        }
        #expect(try Conntrack.entry(NetlinkMessage(type: .newRoute, flags: [], payload: Array(good.payload))) == nil)
        #expect(try Conntrack.statistics(NetlinkMessage(type: Conntrack.getStatsCPU, flags: [], payload: [0, 0])) == nil)
    }
}

/// nf_tables on bytes the kernel sent to `nft list table ip filter` after two iptables-nft rules
/// (scripts/capture-netlink-fixtures nftables): the ruleset's generation, the base chain, and each
/// rule's chain and counter, in chain order (what a trace's counter refresh maps back by position).
@Suite("nf_tables chains, rules and generation on captured bytes")
struct NFTablesCounterTests {
    func messages() throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/nft-filter-table.bin"))
        return try NetlinkMessage.parseAll(bytes)
    }

    @Test("generation, chain FORWARD, two rules of FORWARD with counters")
    func decode() throws {
        let all = try messages()
        let generations = try all.compactMap { try NFTables.generation($0) }
        #expect(!generations.isEmpty && Set(generations).count == 1)
        let chains = try all.compactMap { try NFTables.chain($0) }
        #expect(chains.map(\.name) == ["FORWARD"])
        let rules = try all.compactMap { try NFTables.rule($0) }
        #expect(rules.map(\.chain) == ["FORWARD", "FORWARD"])
        #expect(rules.allSatisfy { $0.counter == NFTables.Counter(packets: 0, bytes: 0) })
        // Requests: one table's dump, the generation.
        let dump = NFTables.dump(NFTables.getRule, family: 2, table: "filter")
        #expect(dump.flags.contains(.dump) && dump.payload.first == 2)
        #expect(try Attribute.parseAll(dump.payload.dropFirst(4)).first?.string == "filter")
        #expect(NFTables.generationRequest.type == NFTables.getGeneration)
    }

    @Test("a rule's expressions as iptables-nft compiled `-s 10.9.9.9/32 -m comment --comment … -j DROP`")
    func expressions() throws {
        let rules = try messages().compactMap { try NFTables.rule(expressionsOf: $0) }
        #expect(rules.map(\.table) == ["filter", "filter"] && rules.map(\.chain) == ["FORWARD", "FORWARD"])
        let drop = try #require(rules.first).expressions
        #expect(drop.first == .payload(base: NFTables.networkHeader, offset: 12, length: 4, register: 1))
        #expect(drop.contains(.compare(register: 1, op: .equal, data: [10, 9, 9, 9])))
        guard case .match(let name, _, let info)? = drop.first(where: { if case .match = $0 { true } else { false } }) else {
            Issue.record("no comment match in \(drop)")
            return
        }
        #expect(name == "comment" && String(decoding: info.prefix { $0 != 0 }, as: UTF8.self) == "netdoctor fixture")
        #expect(drop.last == .verdict(NFTables.Verdict(code: NFTables.Verdict.drop)))
        #expect(rules[1].expressions.last == .verdict(NFTables.Verdict(code: NFTables.Verdict.accept)))
        // A caller that wants other chains gets nothing decoded.
        #expect(
            try messages().compactMap { try NFTables.rule(expressionsOf: $0) { _, chain in chain.elementsEqual("INPUT".utf8) } }.isEmpty)
        // A chain request for one chain names it.
        let one = NFTables.dump(NFTables.getRule, family: 2, table: "nat", chain: "KUBE-SERVICES")
        #expect(try Attribute.parseAll(one.payload.dropFirst(4)).map(\.string) == ["nat", "KUBE-SERVICES"])
    }
}

import NetlinkCodec
import TestSupport
import Testing
@testable import Services

/// kube-proxy's iptables rules read from nf_tables over netlink (KubeRulesOverNetlink), on the
/// bytes the kernel gave `nft list table ip nat|filter` for the same rules the iptables-save
/// fixtures hold (scripts/record-service-fixtures; iptables-nft 1.8.9): every kept rule must read
/// the same both ways, and so must the table.
@Suite("kube-proxy's rules from nf_tables")
struct NetlinkRulesTests {
    func fixture(_ name: String) throws -> [UInt8] {
        try #require(Repository.read(Repository.root + "/Tests/ServicesTests/Fixtures/\(name)"), "fixture \(name)")
    }

    func scanned(_ set: String) throws -> KubeRuleScanner.Scanned {
        let nat = try NetlinkMessage.parseAll(try fixture("\(set).nft-nat.bin"))
        let filter = try NetlinkMessage.parseAll(try fixture("\(set).nft-filter.bin"))
        return try #require(KubeRulesOverNetlink.scanned(nat: nat, filter: filter), "every rule understood")
    }

    @Test(
        "each of kube-proxy's rules reads the same from nf_tables as from iptables-save",
        arguments: ["kube-proxy-iptables", "kube-proxy-iptables-large"])
    func sameRules(set: String) throws {
        let fromNetlink = try scanned(set)
        let fromText = KubeRuleScanner.scan(try fixture("\(set).iptables-save"))
        #expect(fromNetlink.nat.keys.sorted() == fromText.nat.keys.sorted())
        for (chain, rules) in fromText.nat { #expect(fromNetlink.nat[chain].map(Self.printed) == Self.printed(rules), "\(chain)") }
        #expect(fromNetlink.filter.map(\.chain) == fromText.filter.map(\.chain))
        #expect(Self.printed(fromNetlink.filter.map(\.rule)) == Self.printed(fromText.filter.map(\.rule)))
        #expect(fromNetlink.hooked == fromText.hooked && fromNetlink.hooked == ["PREROUTING", "OUTPUT"])
        #expect(fromNetlink.postroutingHooked && fromText.postroutingHooked)
        // The fixtures hold DNATs, probabilities, affinity, comments, REJECTs and DROPs: all met.
        let all = fromNetlink.nat.values.flatMap { $0 }
        #expect(all.contains { $0.toDestination != nil } && all.contains { $0.probability != nil })
    }

    /// Rules with their probability as iptables-save prints it (11 decimals of the kernel's
    /// fraction of 2^31), which is all the text says.
    static func printed(_ rules: [KubeRule]) -> [KubeRule] {
        rules.map { rule in
            var rule = rule
            rule.probability = rule.probability.map { ($0 * 1e11).rounded() / 1e11 }
            return rule
        }
    }

    @Test("the Service table from nf_tables is iptables-save's")
    func sameTable() throws {
        let table = IptablesServices.table(from: try scanned("kube-proxy-iptables"))
        let expected = IptablesServices.table(fromSave: try fixture("kube-proxy-iptables.iptables-save"))
        #expect(table.problems == expected.problems && table.entries.count == 7)
        #expect(table.entries.map(\.name) == expected.entries.map(\.name))
        #expect(table.entries.map(\.frontends) == expected.entries.map(\.frontends))
        #expect(table.entries.map(\.disposition) == expected.entries.map(\.disposition))
        for (mine, theirs) in zip(table.entries, expected.entries) {
            #expect(mine.endpoints.map(\.description) == theirs.endpoints.map(\.description))
            for (a, b) in zip(mine.endpoints, theirs.endpoints) { #expect(abs((a.share ?? -1) - (b.share ?? -1)) < 1e-9) }
        }
        let large = IptablesServices.table(from: try scanned("kube-proxy-iptables-large"))
        #expect(large.largeCluster && large.entries.count == 340)
    }

    // Rules built by the kernel's layout, for what this iptables-nft does not write but older or
    // other ones do, and for what must make the reading fall back to iptables-save.

    static let tcp: [NFTables.Expression] = [.meta(key: NFTables.metaL4Proto, register: 1), .compare(register: 1, op: .equal, data: [6])]

    static func rule(_ chain: String, _ expressions: [NFTables.Expression], comment: String? = nil) -> NFTables.Rule {
        NFTables.Rule(table: "nat", chain: chain, expressions: expressions, comment: comment)
    }

    /// Host-order bytes of a u16 / u32 (the xt structs' order).
    static func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }

    @Test("older iptables-nft: -p as the IP header's protocol byte, --dport in an xt tcp match, a comment in user data")
    func olderForms() throws {
        // struct xt_tcp: spts 0–65535, dpts 53–53, option, flg_mask, flg_cmp, invflags.
        let xtTCP = Self.u16(0) + Self.u16(65535) + Self.u16(53) + Self.u16(53) + [0, 0, 0, 0]
        let rule = try #require(
            KubeRulesOverNetlink.kubeRule(
                Self.rule(
                    "KUBE-SERVICES",
                    [
                        .payload(base: NFTables.networkHeader, offset: 9, length: 1, register: 1),
                        .compare(register: 1, op: .equal, data: [17]),
                        .payload(base: NFTables.networkHeader, offset: 16, length: 4, register: 1),
                        .compare(register: 1, op: .equal, data: [10, 96, 0, 10]),
                        .match(name: "tcp", revision: 0, info: xtTCP[...]),
                        .verdict(NFTables.Verdict(code: NFTables.Verdict.jump, chain: "KUBE-SVC-X")),
                    ], comment: "kube-system/kube-dns:dns cluster IP")))
        #expect(rule.proto == "udp" && rule.destination == "10.96.0.10/32" && rule.destinationPort == 53)
        #expect(rule.target == "KUBE-SVC-X" && rule.comment == "kube-system/kube-dns:dns cluster IP" && rule.commented)
        // An inverted port is no destination port, as `! --dport 53` reads in the text.
        var inverted = xtTCP
        inverted[11] = 0x02
        let negated = try #require(
            KubeRulesOverNetlink.kubeRule(Self.rule("KUBE-SERVICES", [.match(name: "tcp", revision: 0, info: inverted[...])])))
        #expect(negated.destinationPort == nil)
    }

    @Test("DNAT in each revision's struct; affinity's recent match; a masked destination")
    func natAndAffinity() throws {
        // Revision 0: rangesize 1, flags MAP_IPS|PROTO_SPECIFIED, min_ip, max_ip, min and max port (be).
        let rev0 = Self.u32(1) + Self.u32(3) + [10, 244, 1, 5] + [10, 244, 1, 5] + [0x1F, 0x90, 0x1F, 0x90]
        #expect(XtablesInfo.natDestination(revision: 0, info: rev0[...]) == "10.244.1.5:8080")
        // Revision 2: flags, min_addr (16), max_addr (16), min and max proto, base proto.
        let address: [UInt8] = [10, 244, 1, 5] + [UInt8](repeating: 0, count: 12)
        let rev2 = Self.u32(3) + address + address + [0x1F, 0x90, 0x1F, 0x90, 0, 0]
        #expect(XtablesInfo.natDestination(revision: 2, info: rev2[...]) == "10.244.1.5:8080")
        #expect(XtablesInfo.natDestination(revision: 1, info: rev2[...]) == "10.244.1.5:8080")
        #expect(XtablesInfo.natDestination(revision: 2, info: rev2.prefix(20)) == nil)
        #expect(XtablesInfo.natDestination(revision: 7, info: rev2[...]) == nil)
        // Without a port: an address alone.
        #expect(XtablesInfo.natDestination(revision: 2, info: (Self.u32(1) + address + address + [0, 0, 0, 0, 0, 0])[...]) == "10.244.1.5")

        // struct xt_recent_mtinfo: seconds 10800, hit_count 0, check_set XT_RECENT_CHECK, invert 0, name…
        let recent = Self.u32(10800) + Self.u32(0) + [1, 0] + [UInt8](repeating: 0, count: 202)
        let affinity = try #require(
            KubeRulesOverNetlink.kubeRule(
                Self.rule(
                    "KUBE-SVC-X",
                    [
                        .match(name: "recent", revision: 0, info: recent[...]),
                        .verdict(NFTables.Verdict(code: NFTables.Verdict.jump, chain: "KUBE-SEP-Y")),
                    ])))
        #expect(affinity.recentCheck && affinity.seconds == 10800)

        let masked = try #require(
            KubeRulesOverNetlink.kubeRule(
                Self.rule(
                    "KUBE-SERVICES",
                    [
                        .payload(base: NFTables.networkHeader, offset: 16, length: 4, register: 1),
                        .bitwise(source: 1, destination: 1, mask: [255, 255, 0, 0], xor: [0, 0, 0, 0]),
                        .compare(register: 1, op: .equal, data: [10, 96, 0, 0]),
                    ])))
        #expect(masked.destination == "10.96.0.0/16")
        // statistic: mode random, probability 1/3 of 2^31.
        let statistic = Self.u16(0) + Self.u16(0) + Self.u32(715_827_883) + [UInt8](repeating: 0, count: 16)
        let spread = try #require(
            KubeRulesOverNetlink.kubeRule(Self.rule("KUBE-SVC-X", [.match(name: "statistic", revision: 0, info: statistic[...])])))
        #expect(abs((spread.probability ?? 0) - 1.0 / 3) < 1e-9)
    }

    @Test("what is not understood is not guessed: the reading falls back to iptables-save")
    func notUnderstood() throws {
        let unknownLoad: [NFTables.Expression] = [.meta(key: 24, register: 1), .compare(register: 1, op: .less, data: [1, 0, 0, 0])]
        let nativeNAT: [NFTables.Expression] = [.immediate(register: 1, data: [10, 244, 1, 5]), .other(name: "nat")]
        let invertedStatistic = Self.u16(0) + Self.u16(1) + Self.u32(1 << 30) + [UInt8](repeating: 0, count: 16)
        let shortDNAT: [NFTables.Expression] = [.target(name: "DNAT", revision: 2, info: [1, 0, 0, 0])]
        let verdictCode: [NFTables.Expression] = [.verdict(NFTables.Verdict(code: -1))]
        for expressions in [
            unknownLoad, nativeNAT, [.match(name: "statistic", revision: 0, info: invertedStatistic[...])], shortDNAT, verdictCode,
            [.compare(register: 2, op: .equal, data: [1])],
        ] {
            #expect(KubeRulesOverNetlink.kubeRule(Self.rule("KUBE-SEP-X", Self.tcp + expressions)) == nil, "\(expressions)")
        }
        // Matches the table does not need pass, as their options do in the text.
        #expect(
            KubeRulesOverNetlink.kubeRule(Self.rule("KUBE-SERVICES", [.match(name: "addrtype", revision: 1, info: [0, 0, 0, 0])])) != nil)
    }

    @Test("bytes cut short or foreign: no table, no crash")
    func hostile() throws {
        let bytes = try fixture("kube-proxy-iptables.nft-nat.bin")
        let messages = try NetlinkMessage.parseAll(bytes)
        // A rule message cut inside its expressions: that message does not parse.
        var cut = try #require(messages.first { $0.type == NFTables.newRule })
        cut.payload = cut.payload.prefix(cut.payload.count / 2)
        #expect(KubeRulesOverNetlink.scanned(nat: [cut], filter: []) == nil)
        // Other tables' rules in a dump are not taken for this one's.
        let asFilter = KubeRulesOverNetlink.scanned(nat: [], filter: messages)
        #expect(asFilter?.filter.isEmpty == true)
    }
}

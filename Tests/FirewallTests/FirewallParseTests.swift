import Firewall
import NetAddress
import TestSupport
import Testing

/// Parsers over output captured from the real tools (iptables-save -c on the lab's node1;
/// nft -j list ruleset in a namespace holding a native table and an iptables-nft rule).
@Suite("Firewall rules and counters")
struct FirewallParseTests {
    func fixture(_ name: String) throws -> [UInt8] {
        try #require(Repository.read(Repository.root + "/Tests/FirewallTests/Fixtures/\(name)"), "fixture \(name)")
    }

    @Test("iptables-save -c: rules with their counters, in their table and chain; policies of built-in chains")
    func iptablesSave() throws {
        let rules = FirewallReader.parse(String(decoding: try fixture("iptables-save-c.txt"), as: UTF8.self))
        let drop = try #require(rules.first { $0.origin == .iptables && $0.drops })
        #expect(drop.table == "filter" && drop.chain == "FORWARD")
        #expect(drop.packets == 1 && drop.bytes == 84)
        #expect(
            drop.text
                == "-t filter -A FORWARD -s 10.244.1.2/32 -d 10.244.2.2/32 -m comment --comment \"netdoctor lab: FIREWALL_DROP\" -j DROP")
        // MASQUERADE and ACCEPT end nothing; user chains ("-") have no policy.
        #expect(rules.filter(\.drops).count == 2)  // the rule, and FORWARD's DROP policy
        #expect(!rules.contains { $0.chain.hasPrefix("CNI-") && $0.origin == .iptablesPolicy })
        #expect(rules.filter { $0.table == "nat" && $0.origin == .iptables }.count == 6)
    }

    @Test("ip6tables-save -c: IPv6 rules say which tool shows them; ICMPv6 packet too big drops are PMTU's black holes")
    func ip6tablesSave() throws {
        let rules = FirewallReader.parse(String(decoding: try fixture("ip6tables-save-c.txt"), as: UTF8.self), family: .ipv6)
        #expect(rules.allSatisfy { $0.family == .ipv6 } && rules.count == 6)
        let drop = try #require(rules.first { $0.specification.contains("FIREWALL_DROP") })
        #expect(drop.packets == 1 && drop.bytes == 84 && drop.drops)
        #expect(drop.text.hasPrefix("ip6tables -t filter -A FORWARD -s fd00:10:244:1::2/128 -d fd00:10:244:2::2/128"))
        let tooBig = FirewallReader.icmpTooBigDrops(rules)
        #expect(tooBig.count == 2 && tooBig.allSatisfy { $0.specification.contains("--icmpv6-type 2") })
        // The same rules read as IPv4's would not say ip6tables; IPv4's fragmentation-needed rules still match.
        #expect(!FirewallReader.parse(String(decoding: try fixture("ip6tables-save-c.txt"), as: UTF8.self))[4].text.hasPrefix("ip6tables"))
        #expect(
            FirewallReader.icmpTooBigDrops(
                FirewallReader.parse("*filter\n[0:0] -A OUTPUT -p icmp -m icmp --icmp-type 3/4 -j DROP\nCOMMIT\n")
            ).count == 1)
    }

    @Test("a chain's policy counts what no rule decided: FORWARD DROP [2:168]")
    func policy() throws {
        let rules = FirewallReader.parse(String(decoding: try fixture("iptables-save-policy.txt"), as: UTF8.self))
        let forward = try #require(rules.first { $0.origin == .iptablesPolicy && $0.chain == "FORWARD" })
        #expect(forward.drops && forward.packets == 2 && forward.bytes == 168)
        #expect(forward.text == "-t filter -P FORWARD DROP (the chain's policy)")
        #expect(rules.first { $0.origin == .iptablesPolicy && $0.chain == "INPUT" }?.drops == false)
    }

    @Test("nft -j list tables (nftables 1.0.6, iptables-nft 1.8.9 beside kube-proxy's own table): only native tables are read")
    func nativeTables() throws {
        let tables = NftablesReader.nativeTables(json: try fixture("nft-tables.json"))
        #expect(tables.map { "\($0.family) \($0.name)" } == ["inet kube-proxy"])
        #expect(NftablesReader.nativeTables(json: Array(#"{"nftables": [{"table": {"family": "inet", "name": "a b"}}]}"#.utf8)).isEmpty)
    }

    @Test("nft -j: native tables' counted rules in nft's words; iptables-nft's own tables left to iptables-save")
    func nftables() throws {
        let rules = NftablesReader.parse(json: try fixture("nft-ruleset.json"))
        #expect(rules.map(\.table) == ["inet ndtest", "inet ndtest", "inet ndtest"])
        #expect(
            rules.map(\.specification) == [
                "handle 2: ip daddr 10.244.2.2 tcp dport 80 drop",
                "handle 3: meta iifname cni0 ip saddr 10.244.0.0/16 reject",
                "handle 4: meta l4proto icmp accept",
            ])
        #expect(rules.map(\.drops) == [true, true, false])
        #expect(rules[1].packets == 5 && rules[1].bytes == 300)
        #expect(rules[0].text == "nft table inet ndtest chain forward_check handle 2: ip daddr 10.244.2.2 tcp dport 80 drop")
    }

    @Test("an nft rule dropping ICMP fragmentation-needed is seen as breaking PMTU discovery, as the iptables one is")
    func nftFragNeeded() {
        // `nft -j list ruleset` for: icmp type destination-unreachable icmp code frag-needed counter drop
        let json =
            #"{"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "f", "handle": 2, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": "destination-unreachable"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "code"}}, "right": "frag-needed"}}, {"counter": {"packets": 3, "bytes": 1680}}, {"drop": null}]}}]}"#
        let rules = NftablesReader.parse(json: Array(json.utf8))
        #expect(rules.map(\.specification) == ["handle 2: icmp type destination-unreachable icmp code frag-needed drop"])
        #expect(FirewallReader.icmpTooBigDrops(rules).count == 1)
    }

    @Test("unreadable nft output is no rules, not a crash")
    func garbage() {
        #expect(NftablesReader.parse(json: Array("{\"nftables\": [".utf8)).isEmpty)
        #expect(NftablesReader.parse(json: Array("[]".utf8)).isEmpty)
        #expect(FirewallReader.parse(":FORWARD\n[x:y] -A\n*").isEmpty)
    }
}

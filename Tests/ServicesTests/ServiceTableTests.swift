import Firewall
import NetAddress
import TestSupport
import Testing
@testable import Services

/// The Service table read back from rules as the real tools keep them: kube-proxy's rules for the
/// Services of its own TestOverall*Rules (and a DNS service of three endpoints, a Local service
/// with a local endpoint) loaded with iptables-restore and nft, saved with iptables-save -c and
/// nft -j (scripts/record-service-fixtures; the tools' versions in Fixtures/versions.txt).
@Suite("kube-proxy's Service table")
struct ServiceTableTests {
    func fixture(_ name: String) throws -> [UInt8] {
        try #require(Repository.read(Repository.root + "/Tests/ServicesTests/Fixtures/\(name)"), "fixture \(name)")
    }

    func iptables(_ name: String = "kube-proxy-iptables.iptables-save") throws -> ServiceTable {
        IptablesServices.table(fromSave: try fixture(name))
    }

    func nftables() throws -> ServiceTable {
        NftablesServices.table(fromJSON: [try fixture("kube-proxy-nftables.json")])
    }

    static func name(_ text: String) -> ServicePortName { ServicePortName.parse(Substring(text))! }
    static func ip(_ text: String) -> IPAddress { IPAddress.parse(text)! }

    /// What both modes must say of the same Services.
    func expectFixture(_ table: ServiceTable) throws {
        #expect(table.problems.isEmpty, "\(table.problems)")
        #expect(table.entries.count == 7)
        let svc1 = try #require(table.entry(address: Self.ip("172.30.0.41"), port: 80, proto: "tcp"))
        #expect(svc1.name == Self.name("ns1/svc1:p80") && svc1.disposition == .endpoints)
        #expect(svc1.endpoints.map(\.description) == ["10.180.0.1:80"])
        #expect(svc1.endpoints.first?.share == 1)

        let dns = try #require(table.entry(address: Self.ip("172.30.0.10"), port: 53, proto: "udp"))
        #expect(dns.name == Self.name("kube-system/kube-dns:dns"))
        #expect(Set(dns.endpoints.map(\.description)) == ["10.180.0.7:53", "10.180.0.8:53", "10.180.0.9:53"])
        // iptables' probability chain (1/3, then 1/2 of the rest, then the rest) and nft's numgen mod 3
        // both give each a third.
        for endpoint in dns.endpoints { #expect(abs((endpoint.share ?? 0) - 1.0 / 3) < 0.001, "\(endpoint)") }

        let svc3 = try #require(table.entries(namespace: "ns3", name: "svc3").first)
        #expect(svc3.frontends.contains(.nodePort(3003)) && svc3.frontends.contains(.clusterIP(Self.ip("172.30.0.43"), 80)))

        let svc6 = try #require(table.entries(namespace: "ns6", name: "svc6").first)
        #expect(svc6.disposition == .noEndpoints && svc6.endpoints.isEmpty)
        #expect(svc6.frontends == [.clusterIP(Self.ip("172.30.0.46"), 80)])

        // Local external policy, the only endpoint on another node: external traffic is dropped
        // here, cluster traffic still reaches it.
        let svc2 = try #require(table.entries(namespace: "ns2", name: "svc2").first)
        #expect(svc2.disposition == .noLocalEndpoints)
        #expect(svc2.endpoints.map(\.description) == ["10.180.0.2:80"])
        #expect(svc2.frontends.contains(.nodePort(3001)))

        // Local external policy with a local endpoint: a local chain exists.
        let svc7 = try #require(table.entries(namespace: "ns7", name: "svc7").first)
        #expect(svc7.localPolicy && svc7.disposition == .endpoints && svc7.endpoints.count == 2)
        #expect(table.entries(namespace: "ns4", name: "svc4").first?.endpoints.count == 2)
    }

    @Test(
        "iptables mode: frontends from KUBE-SERVICES and KUBE-NODEPORTS, endpoints through KUBE-SVC/SVL to KUBE-SEP DNATs, REJECT and DROP for none"
    )
    func iptablesMode() throws {
        let table = try iptables()
        #expect(table.mode == .iptables && !table.largeCluster)
        try expectFixture(table)
    }

    @Test("iptables-save read as it is written: any cut of the output into chunks gives the same table", arguments: [1, 7, 100, 4096])
    func streamed(chunk: Int) throws {
        let bytes = try fixture("kube-proxy-iptables.iptables-save")
        var stream = KubeRuleScanner.Stream()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            bytes[offset..<end].withUnsafeBufferPointer { stream.feed($0) }
            offset = end
        }
        let table = IptablesServices.table(from: stream.finish())
        #expect(table.entries == (try iptables()).entries)
        #expect(table.entries.count == 7)
    }

    @Test("nftables mode: service-ips and service-nodeports maps, numgen spreads to endpoint chains' dnat, no-endpoint maps")
    func nftablesMode() throws {
        let table = try nftables()
        #expect(table.mode == .nftables)
        try expectFixture(table)
    }

    @Test(
        "IPv6 (kube-proxy's IPv6 proxier: ip6tables, table ip6 kube-proxy): the same Services at IPv6 addresses, endpoints as [addr]:port",
        arguments: ["iptables", "nftables"])
    func ipv6(mode: String) throws {
        let table =
            mode == "iptables"
            ? IptablesServices.table(fromSave: try fixture("kube-proxy-ip6tables.ip6tables-save"))
            : NftablesServices.table(fromJSON: [try fixture("kube-proxy-nftables6.json")])
        #expect(table.problems.isEmpty, "\(table.problems)")
        #expect(table.entries.count == 7)
        let svc1 = try #require(table.entry(address: Self.ip("fd00:172:30::41"), port: 80, proto: "tcp"))
        #expect(svc1.name == Self.name("ns1/svc1:p80") && svc1.endpoints.map(\.description) == ["[fd00:10:180::1]:80"])
        let dns = try #require(table.entry(address: Self.ip("fd00:172:30::10"), port: 53, proto: "udp"))
        #expect(Set(dns.endpoints.map(\.address)) == Set(["fd00:10:180::7", "fd00:10:180::8", "fd00:10:180::9"].map(Self.ip)))
        for endpoint in dns.endpoints { #expect(abs((endpoint.share ?? 0) - 1.0 / 3) < 0.001, "\(endpoint)") }
        #expect(table.entries(namespace: "ns6", name: "svc6").first?.disposition == .noEndpoints)
        #expect(table.entries(namespace: "ns2", name: "svc2").first?.disposition == .noLocalEndpoints)
        // A dual-stack node's two tables side by side: one Service name, a frontend per family.
        var both = try iptables()
        both.entries += table.entries
        #expect(both.entries(namespace: "ns1", name: "svc1").flatMap(\.frontends).count == 2)
    }

    @Test("large-cluster mode (1,020 endpoints): no per-endpoint comments, names from KUBE-SERVICES, endpoints from the DNAT targets")
    func largeCluster() throws {
        let table = try iptables("kube-proxy-iptables-large.iptables-save")
        #expect(table.largeCluster && table.problems.isEmpty)
        #expect(table.entries.count == 340)
        let first = try #require(table.entries(namespace: "bench", name: "svc0").first)
        #expect(first.endpoints.map(\.description) == ["10.128.0.0:8080", "10.128.0.1:8080", "10.128.0.2:8080"])
        #expect(first.frontends.contains(.nodePort(30100)))
        #expect(table.entries.allSatisfy { $0.endpoints.count == 3 && $0.disposition == .endpoints })
    }

    static func rule(_ specification: String) -> KubeRule {
        var words = KubeRuleScanner.WordBuffer()
        var line = " " + specification
        return line.withUTF8 { bytes in
            words.split(bytes)
            return words.rule()
        }
    }

    @Test("rule words: quoted comments with escapes, bare comments, negations, options without values")
    func words() {
        let rule = Self.rule(
            #"! -s 10.0.0.0/8 -d 10.96.0.1/32 -p tcp -m comment --comment "a \"b\" c\\d" -m tcp --dport 443 -j KUBE-MARK-MASQ"#)
        #expect(rule.comment == #"a "b" c\d"#)
        #expect(rule.destination == "10.96.0.1/32" && rule.proto == "tcp")
        #expect(rule.destinationPort == 443 && rule.target == "KUBE-MARK-MASQ")
        #expect(Self.rule("! -d 10.0.0.1/32 -j X").destination == nil)
        let bare = Self.rule("-m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ")
        #expect(bare.comment == "ns1/svc1:p80")
        // An unterminated quote ends the rule; nothing is read past the end.
        #expect(Self.rule(#"-m comment --comment "open"#).comment == "open")
        #expect(Self.rule("").target == nil && Self.rule("   ").target == nil && Self.rule("-j").target == nil)
        #expect(Self.rule("-m recent --rcheck --seconds 10800 -j KUBE-SEP-X").recentCheck)
        #expect(Self.rule("--dport 99999 -j X").destinationPort == nil)
    }

    @Test("rules kube-proxy would not write: named as problems, never misread")
    func hostile() {
        let table = IptablesServices.table(
            fromSave: Array(
                """
                *nat
                -A KUBE-SERVICES -d 10.96.0.9/32 -j KUBE-SVC-AAAAAAAAAAAAAAAA
                -A KUBE-SERVICES -d 10.96.0.8/32 -p tcp -m comment --comment "no-slash-here cluster IP" --dport 80 -j KUBE-SVC-BBBBBBBBBBBBBBBB
                -A KUBE-SERVICES -d 10.96.0.7/32 -p tcp -m comment --comment "ns/svc:p cluster IP" --dport 80 -j KUBE-SVC-CCCCCCCCCCCCCCCC
                -A KUBE-SVC-CCCCCCCCCCCCCCCC -j KUBE-SEP-DDDDDDDDDDDDDDDD
                -A KUBE-SVC-CCCCCCCCCCCCCCCC -j KUBE-SEP-EEEEEEEEEEEEEEEE
                -A KUBE-SEP-EEEEEEEEEEEEEEEE -p tcp -j DNAT --to-destination not-an-address
                -A KUBE-SVC-CCCCCCCCCCCCCCCC -j KUBE-SVC-CCCCCCCCCCCCCCCC
                COMMIT
                """.utf8))
        #expect(table.entries.count == 1)
        #expect(table.entries.first?.endpoints.isEmpty == true)
        // No comment, a comment without a namespace, a missing KUBE-SEP chain, a DNAT to no
        // address; and neither PREROUTING nor OUTPUT hooked into KUBE-SERVICES.
        #expect(table.problems.count == 6, "\(table.problems)")
        #expect(table.problems.contains { $0.contains("PREROUTING has no jump to KUBE-SERVICES") })
    }

    @Test("nft JSON that is not kube-proxy's: one problem, no entries")
    func hostileJSON() {
        #expect(NftablesServices.table(fromJSON: [Array("{".utf8)]).problems.count == 1)
        #expect(NftablesServices.table(fromJSON: [Array("{\"x\": 1}".utf8)]).problems.count == 1)
        let odd = NftablesServices.table(fromJSON: [
            Array(
                #"{"nftables": [{"map": {"name": "service-ips", "elem": [[{"concat": ["10.96.0.1", "tcp", 80]}, {"goto": {"target": "elsewhere"}}], 7, [1]]}}]}"#
                    .utf8)
        ])
        #expect(odd.entries.isEmpty && odd.problems.count == 1)
    }
}

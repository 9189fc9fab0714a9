import BPF
import Cilium
import ConfigFormats
import NetAddress
import NodeFiles
import TestSupport
import Testing

/// Cilium's maps as bpftool dumped them from the cilium topology (scripts/record-cilium-fixtures:
/// the lab's stand-in of Cilium's datapath, in Cilium 1.15's and 1.18's layouts, a dual-stack
/// lab, one connection through default/web, then a probe CILIUM_POLICY_DENIED dropped), decoded
/// by the readers netdoctor runs on a node's live maps.
@Suite("Cilium: recorded map dumps of both layouts")
struct CiliumRecordedMapsTests {
    static func ip(_ text: String) -> IPAddress { IPAddress.parse(text)! }

    static func dump(_ release: String, _ map: String) throws -> [BPFMapEntry] {
        let path = Repository.root + "/Tests/BPFTests/Fixtures/cilium-\(release)/\(map).json"
        let json = try JSONParser.parse(bytes: try NodeRoot("/").read(path))
        let bytes = { (value: ConfigValue?) -> [UInt8] in
            (value?.array ?? []).compactMap { $0.string.flatMap { UInt8($0.dropFirst(2), radix: 16) } }
        }
        return (json.array ?? []).map { entry in
            let values = entry["values"]?.array.map { $0.map(bytes) } ?? [bytes(entry["value"])]
            return BPFMapEntry(key: bytes(entry["key"]), values: values)
        }
    }

    @Test("endpoints, identities and tunnel endpoints, policy maps, as each release lays them out", arguments: ["1.15", "1.18"])
    func endpoints(release: String) throws {
        let endpoints = try Self.dump(release, "cilium_lxc").compactMap { CiliumEndpoint(key: $0.key, value: $0.values[0]) }
        let podA = endpoints.filter { $0.address == Self.ip("10.247.1.2") || $0.address == Self.ip("fd00:10:247:1::2") }
        #expect(podA.count == 2)
        #expect(podA.allSatisfy { $0.endpointID == 100 && $0.identity == 10000 && !$0.isHost && $0.interfaceIndex > 0 })
        #expect(endpoints.contains { $0.isHost && $0.address == Self.ip("192.168.77.1") && $0.identity == 1 })

        let ipcache = try Self.dump(release, release == "1.18" ? "cilium_ipcache_v2" : "cilium_ipcache")
        #expect(ipcache.allSatisfy { $0.key.count == 24 && $0.values[0].count == (release == "1.18" ? 24 : 12) })
        let identities = ipcache.compactMap { entry -> CiliumIdentity? in
            let address = entry.key[7] == 1 ? IPAddress(wire: entry.key[8..<12]) : IPAddress(wire: entry.key[8..<24])
            return address.flatMap { CiliumIdentity(address: $0, value: entry.values[0]) }
        }
        let podC = identities.first { $0.address == Self.ip("10.247.2.2") }
        #expect(podC?.identity == 10002)
        #expect(podC?.tunnelEndpoint == Self.ip("192.168.77.2"))
        #expect(identities.first { $0.address == Self.ip("fd00:10:247:2::2") }?.tunnelEndpoint == Self.ip("192.168.77.2"))
        #expect(identities.first { $0.address == Self.ip("10.247.1.3") }?.tunnelEndpoint == nil)
        #expect(identities.first { $0.address == Self.ip("192.168.77.2") }?.reservedName == "remote-node")

        let policy = try Self.dump(release, release == "1.18" ? "cilium_policy_v2_00100" : "cilium_policy_00100")
            .compactMap { CiliumPolicyEntry(key: $0.key, value: $0.values[0]) }
        #expect(policy.count == 2)
        #expect(policy.allSatisfy { $0.identity == 0 && $0.protocolNumber == nil && !$0.deny })
        // 1.15 counts in the entry (the web connection's packets reached pod-a); 1.18 in cilium_policystats.
        #expect(policy.allSatisfy { (release == "1.18") == ($0.packets == nil) })
    }

    @Test("the load balancer's frontends and backends, and the web connection's service entry in conntrack", arguments: ["1.15", "1.18"])
    func loadBalancer(release: String) throws {
        let frontends = CiliumDatapath.frontends(
            services: try Self.dump(release, "cilium_lb4_services_v2"), backends: try Self.dump(release, "cilium_lb4_backends_v3"),
            ipv6: false)
        let web = frontends.first { $0.address == Self.ip("10.96.0.80") && $0.port == 80 }
        #expect(web?.backends.map(\.address) == [Self.ip("10.247.1.2"), Self.ip("10.247.2.2")])
        #expect(web?.backends.allSatisfy { $0.port == 8080 } == true)
        // The key's protocol: 0 before 1.17, the Service port's from then on.
        #expect(web?.protocolNumber == (release == "1.18" ? 6 : 0))
        #expect(frontends.first { $0.address == Self.ip("10.96.0.90") }?.backends.isEmpty == true)
        let frontends6 = CiliumDatapath.frontends(
            services: try Self.dump(release, "cilium_lb6_services_v2"), backends: try Self.dump(release, "cilium_lb6_backends_v3"),
            ipv6: true)
        #expect(frontends6.first { $0.address == Self.ip("fd00:96::80") }?.backends.count == 2)

        let conntrack = try Self.dump(release, "cilium_ct4_global")
        // The service entry: the frontend as daddr, TUPLE_F_SERVICE in the key's last byte.
        let service = conntrack.first { $0.key.count == 14 && $0.key[13] == 4 && IPAddress(wire: $0.key[0..<4]) == Self.ip("10.96.0.80") }
        let connection = service.flatMap { CiliumServiceConnection(map: "cilium_ct4_global", entry: $0.values[0]) }
        #expect(connection.map { web?.backends.map(\.id).contains(UInt32($0.backendID)) } == true, "\(conntrack.count) entries")
        #expect(connection?.revNatIndex == web?.revNatIndex)
    }

    @Test(
        "cilium_metrics after a policy drop: reason 133, ingress; 1.18 names bpf_lxc.c and a line, 1.15 neither",
        arguments: ["1.15", "1.18"])
    func metrics(release: String) throws {
        let drops = CiliumMetrics(entries: try Self.dump(release, "cilium_metrics")).drops(since: CiliumMetrics(entries: []))
        let policy = drops.first { $0.key.reason == 133 }
        #expect(policy?.key.direction == 1)
        #expect(policy?.packets ?? 0 >= 1)
        #expect((policy?.key.file == 2) == (release == "1.18"))
        #expect((policy?.key.line != 0) == (release == "1.18"))
    }
}

import CNIDetection
import ConfigFormats
import Diagnosis
import NetAddress
import NodeCheck
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

@Suite("check: host-local's pools, as host-local writes and counts them")
struct IPAMTests {
    static let fixtures = Repository.root + "/Tests/NodeCheckTests/Fixtures"
    static let podA = "1e42f4f307841077c0460c051ff771e8e3d571bd86b12c466d163b0d71038cb7"
    static let podB = "f2a2cfbd71fb821c7e953ee652662e7c85ac1804d4d8fb2237bb949904a00911"

    func range(_ json: String) throws -> IPAMRange? {
        IPAMRange(try JSONParser.parse(bytes: Array(json.utf8)))
    }

    @Test("a range's defaults are host-local's: the first host as gateway and start, the broadcast's neighbour as end")
    func rangeDefaults() throws {
        let v4 = try #require(try range(#"{"subnet": "10.244.1.0/24"}"#))
        #expect(v4.description == "10.244.1.1-10.244.1.254")
        #expect(v4.gateway == IPAddress.parse("10.244.1.1"))
        #expect(v4.capacity == 253)
        // flannel writes FLANNEL_SUBNET as the gateway's address with the length: the same range.
        #expect(try range(#"{"subnet": "10.244.1.1/24"}"#)?.description == "10.244.1.1-10.244.1.254")
        let bounded = try #require(try range(#"{"subnet": "10.0.0.0/16", "rangeStart": "10.0.5.10", "rangeEnd": "10.0.5.20"}"#))
        #expect(bounded.capacity == 11)  // the gateway (10.0.0.1) is outside the range
        let v6 = try #require(try range(#"{"subnet": "fd00:10:244:1::/64"}"#))
        #expect(v6.end == IPAddress.parse("fd00:10:244:1:ffff:ffff:ffff:ffff"))
        #expect(v6.capacity == UInt64.max)
        #expect(try range(#"{"subnet": "fd00::/120"}"#)?.capacity == 254)  // ::1-::ff, the gateway ::1 skipped
        // What host-local refuses: too small to allocate from, not a prefix, start after end.
        #expect(try range(#"{"subnet": "10.0.0.0/31"}"#) == nil)
        #expect(try range(#"{"subnet": "ten"}"#) == nil)
        #expect(try range(#"{"subnet": "10.0.0.0/24", "rangeStart": "10.0.0.200", "rangeEnd": "10.0.0.100"}"#) == nil)
    }

    @Test("the data dir as the real host-local wrote it on the lab: reservations, their holders, and leaks")
    func recordedStore() throws {
        let store = HostLocalStore.read("/lab-overlay", root: NodeRoot(Self.fixtures + "/host-local"))
        #expect(store.problem == nil)
        #expect(store.reservations.count == 5)
        #expect(store.reservations.first { $0.address == IPAddress.parse("10.244.1.2") }?.containerID == Self.podA)
        #expect(store.reservations.allSatisfy { $0.interface == "eth0" })
        #expect(store.lastReserved[0] == IPAddress.parse("10.244.1.6"))
        #expect(store.strayEntries.isEmpty)
        let pool = HostLocalPool(
            network: "lab-overlay", dataDirectory: "/", rangeSets: [[try #require(try range(#"{"subnet": "10.244.1.0/24"}"#))]],
            source: "test")
        let usage = IPAMUsage(pool: pool, store: store, known: [Self.podA, Self.podB])
        #expect(usage.sets.first?.used == 5)
        #expect(usage.leaked?.map(\.address.description) == ["10.244.1.4", "10.244.1.5", "10.244.1.6"])
        let findings = IPAMChecks.findings(usage, maxPods: (110, "default"))
        #expect(findings.map(\.code) == [.ipamLeaked])
        #expect(findings.first?.evidence.first?.contains("/lab-overlay/10.244.1.4: held for container 1eaced") == true)
        // Without the runtime's word, nothing is called leaked.
        #expect(IPAMUsage(pool: pool, store: store, known: nil).leaked == nil)
    }

    @Test("full is an error with host-local's own words, 90% a warning, a range under maxPods a warning")
    func fillAndSize() throws {
        let tree = NodeTree()
        let small = try #require(try range(#"{"subnet": "10.1.0.0/28"}"#))  // .1-.14, 13 addresses
        for host in 2...14 { tree.write("/d/net/10.1.0.\(host)", "c\(host)\r\neth0") }
        let pool = HostLocalPool(network: "net", dataDirectory: "/d", rangeSets: [[small]], source: "test")
        let full = IPAMUsage(pool: pool, store: HostLocalStore.read(pool.directory, root: tree.root), known: nil)
        let findings = IPAMChecks.findings(full, maxPods: (110, "default"))
        let exhausted = try #require(findings.first { $0.code == .ipamExhausted })
        #expect(exhausted.severity == .error)
        #expect(exhausted.message.contains("no IP addresses available in range set: 10.1.0.1-10.1.0.14"))
        #expect(findings.contains { $0.code == .ipamRangeTooSmall && $0.evidence.contains("maxPods 110 (default)") })
        unlink(tree.path + "/d/net/10.1.0.14")
        let nearly = IPAMUsage(pool: pool, store: HostLocalStore.read(pool.directory, root: tree.root), known: nil)
        #expect(IPAMChecks.findings(nearly, maxPods: (10, "config")).map { "\($0.code) \($0.severity)" } == ["IPAM_EXHAUSTED warning"])
    }

    @Test("hostile data dirs: names that are not addresses, a FIFO, a directory, a huge file, old one-line files; bounded")
    func hostileStore() throws {
        let tree = NodeTree()
        tree.write("/d/net/10.0.0.2", "abc")  // before plugins v0.8: the ID alone
        tree.write("/d/net/10.0.0.3", bytes: Array(repeating: 0x41, count: 10_000))
        tree.write("/d/net/\u{1B}[31mred", "x")
        tree.write("/d/net/last_reserved_ip.0", "not an address")
        tree.directory("/d/net/10.0.0.4")
        mkfifo(tree.path + "/d/net/10.0.0.5", 0o644)
        let store = HostLocalStore.read("/d/net", root: tree.root)
        #expect(store.reservations.count == 4)
        #expect(store.reservations.first { $0.address == IPAddress.parse("10.0.0.2") }?.containerID == "abc")
        #expect(store.reservations.first { $0.address == IPAddress.parse("10.0.0.2") }?.interface == nil)
        #expect(store.unreadable.count == 3)
        #expect(store.lastReserved.isEmpty)
        #expect(store.strayEntries.count == 1 && !store.strayEntries[0].contains("\u{1B}"))
        // Past the content limit, names are counted and nothing more is read.
        for host in 10..<60 { tree.write("/big/net/10.0.1.\(host)", "id\(host)") }
        let bounded = HostLocalStore.read("/big/net", root: tree.root, contentLimit: 20)
        #expect(bounded.reservations.count == 50)
        #expect(bounded.unreadFiles == 30)
        // A data dir that is a file: nothing reserved there (as libcni lists a missing conf dir), no crash.
        tree.write("/file/net", "x")
        #expect(HostLocalStore.read("/file/net", root: tree.root).reservations.isEmpty)
    }

    @Test("pools of the active network: ranges, the old single range, flannel's over subnet.env, others said as not read")
    func pools() throws {
        let conflist = """
            {"cniVersion": "1.0.0", "name": "lab", "plugins": [
              {"type": "bridge", "ipam": {"type": "host-local", "dataDir": "/run/ipam",
                "ranges": [[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00::/64"}]]}},
              {"type": "ptp", "ipam": {"type": "host-local", "subnet": "10.9.0.0/24"}},
              {"type": "macvlan", "ipam": {"type": "whereabouts"}},
              {"type": "portmap"}]}
            """
        let network = try #require(LibCNI.load(bytes: Array(conflist.utf8), fileName: "10-lab.conflist").network)
        let (pools, notRead) = HostLocalPools.of(network, file: "10-lab.conflist", flannelEnvironment: nil)
        #expect(pools.map(\.directory) == ["/run/ipam/lab", "/var/lib/cni/networks/lab"])
        #expect(pools[0].rangeSets.map { $0.map(\.description) } == [["10.244.1.1-10.244.1.254"], ["fd00::1-fd00::ffff:ffff:ffff:ffff"]])
        #expect(notRead.count == 1 && notRead[0].contains("whereabouts"))

        let flannel = """
            {"name": "cbr0", "cniVersion": "0.3.1", "plugins": [
              {"type": "flannel", "delegate": {"hairpinMode": true, "isDefaultGateway": true}},
              {"type": "portmap", "capabilities": {"portMappings": true}}]}
            """
        let flannelNetwork = try #require(LibCNI.load(bytes: Array(flannel.utf8), fileName: "10-flannel.conflist").network)
        let env = EnvironmentFile.parse(
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n")
        let flannelPools = HostLocalPools.of(flannelNetwork, file: "10-flannel.conflist", flannelEnvironment: env)
        #expect(flannelPools.pools.map(\.directory) == ["/var/lib/cni/networks/cbr0"])
        #expect(flannelPools.pools.first?.rangeSets.first?.first?.description == "10.244.1.1-10.244.1.254")
        let expectations = BridgeExpectation.of(flannelNetwork, file: "10-flannel.conflist", pools: flannelPools.pools)
        #expect(expectations.map(\.bridge) == ["cni0"])
        #expect(expectations.first?.expected.map(\.description) == ["10.244.1.1/24"])
        // No subnet.env: the pool is not guessed.
        let missing = HostLocalPools.of(flannelNetwork, file: "10-flannel.conflist", flannelEnvironment: nil)
        #expect(missing.pools.isEmpty && missing.notRead.first?.contains("/run/flannel/subnet.env") == true)
    }
}

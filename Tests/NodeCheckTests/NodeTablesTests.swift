import Diagnosis
import NetAddress
import NodeCheck
import RuntimeModel
import TestSupport
import Testing

@Suite("check: the node's tables, switches and ranges, from recorded bytes")
struct NodeTablesTests {
    static let fixtures = Repository.root + "/Tests/NodeCheckTests/Fixtures"

    @Test("arp_cache and ndisc_cache as the 6.18 kernel writes them: entries once, table_fulls summed over CPUs")
    func neighborStatistics() throws {
        let text = String(decoding: try #require(Repository.read(Self.fixtures + "/arp_cache")), as: UTF8.self)
        let arp = try #require(NeighborTableFill.parse(statistics: text, family: .ipv4))
        #expect(arp.entries == 7)
        #expect(arp.tableFulls == 0)
        let ndisc = String(decoding: try #require(Repository.read(Self.fixtures + "/ndisc_cache")), as: UTF8.self)
        #expect(NeighborTableFill.parse(statistics: ndisc, family: .ipv6)?.entries == 31)
        // A node that overflowed: table_fulls on two CPUs, the table still near gc_thresh3.
        let header = text.split(separator: "\n")[0]
        let row = { (entries: String, fulls: String) in
            "\(entries) 0000295f 00002c84 00000001   0000bb16 00000ccd 00000004   00000000         00000000         000009d5         00000000       00000000            \(fulls)"
        }
        let overflowed = "\(header)\n\(row("000003fc", "00000010"))\n\(row("000003fc", "00000002"))\n"
        var fill = try #require(NeighborTableFill.parse(statistics: overflowed, family: .ipv4))
        #expect(fill.entries == 1020 && fill.tableFulls == 18)
        fill.softLimit = 512
        fill.hardLimit = 1024
        let finding = try #require(TableChecks.neighbors(fill).first)
        #expect(finding.code == .neighborTableFull && finding.severity == .error)
        #expect(finding.evidence.contains("net.ipv4.neigh.default.gc_thresh3 = 1024"))
        #expect(finding.evidence.first == "arp_cache: entries 1020, table_fulls 18 (since boot)")
        // An overflow long past, the table quiet now: told (info), not a fault of today.
        #expect(
            TableChecks.neighbors(NeighborTableFill(family: .ipv4, entries: 15, tableFulls: 8, softLimit: 512, hardLimit: 1024)).map(
                \.severity)
                == [.info])
        // A quiet table: nothing; garbage: no reading.
        #expect(TableChecks.neighbors(NeighborTableFill(family: .ipv4, entries: 6, tableFulls: 0, softLimit: 512, hardLimit: 1024)).isEmpty)
        #expect(NeighborTableFill.parse(statistics: "garbage\n\u{1B}[2J", family: .ipv4) == nil)
    }

    @Test("conntrack: full is an error, from 90% a warning, the drop counters as evidence")
    func conntrack() {
        #expect(ConntrackFill.parse(count: "0", max: "262144") == ConntrackFill(count: 0, max: 262144))
        #expect(ConntrackFill.parse(count: nil, max: "262144") == nil)
        #expect(ConntrackFill.parse(count: "-", max: "0") == nil)
        #expect(TableChecks.conntrack(ConntrackFill(count: 100, max: 262144)).isEmpty)
        let nearly = TableChecks.conntrack(ConntrackFill(count: 240_000, max: 262144, drop: 0, earlyDrop: 12))
        #expect(nearly.map(\.severity) == [.warning])
        let full = TableChecks.conntrack(ConntrackFill(count: 262144, max: 262144, drop: 812, earlyDrop: 0))
        #expect(full.map(\.severity) == [.error])
        #expect(full.first?.evidence.contains { $0.contains("drop 812") } == true)
    }

    @Test("ephemeral ports over NodePorts: programmed ones a warning, the default range alone a note, reserved ones nothing")
    func portRanges() throws {
        let linux = try #require(LocalPortRanges.parse(range: "32768\t60999", reserved: ""))
        #expect(PortRangeChecks.overlap(linux, nodePorts: [30080, 32000]).isEmpty)
        let wide = try #require(LocalPortRanges.parse(range: "1024 65000", reserved: "30000-30100,31000"))
        #expect(wide.reserved == [30000...30100, 31000...31000])
        let warned = PortRangeChecks.overlap(wide, nodePorts: [30080, 31000, 31500])
        #expect(warned.map(\.severity) == [.warning])
        #expect(warned.first?.evidence.last?.hasSuffix("31500") == true)
        #expect(PortRangeChecks.overlap(wide, nodePorts: []).map(\.severity) == [.info])
        // NodePorts outside the default range: the cluster set its own; the default is not judged.
        #expect(PortRangeChecks.overlap(wide, nodePorts: [40000]).map(\.severity) == [.warning])
        #expect(LocalPortRanges.parse(range: "60999 32768", reserved: nil) == nil)
        #expect(LocalPortRanges.portList("1-2-3,x,70000,5") == [5...5])
    }

    @Test("the runtime's NetworkReady as containerd words it; flannel's subnet.env missing or incomplete")
    func runtimeAndFlannel() {
        let notReady = RuntimeCondition(
            type: "NetworkReady", status: false, reason: "NetworkPluginNotReady",
            message: "Network plugin returns error: cni plugin not initialized")
        let finding = RuntimeNetworkChecks.notReady([notReady], runtime: "containerd")
        #expect(finding.map(\.code) == [.runtimeNetworkNotReady])
        #expect(finding.first?.evidence.first?.contains("cni plugin not initialized") == true)
        #expect(
            RuntimeNetworkChecks.notReady([RuntimeCondition(type: "NetworkReady", status: true, reason: "", message: "")], runtime: "x")
                .isEmpty)
        let tree = NodeTree()
        let missing = FlannelSubnet.read(FlannelSubnet.defaultPath, root: tree.root)
        #expect(FlannelChecks.subnetMissing(missing, source: "10-flannel.conflist").map(\.code) == [.flannelSubnetMissing])
        tree.write(FlannelSubnet.defaultPath, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\n")
        let partial = FlannelChecks.subnetMissing(FlannelSubnet.read(FlannelSubnet.defaultPath, root: tree.root), source: "f")
        #expect(partial.first?.evidence.contains("/run/flannel/subnet.env: no FLANNEL_SUBNET") == true)
        tree.write(FlannelSubnet.defaultPath, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n")
        #expect(FlannelChecks.subnetMissing(FlannelSubnet.read(FlannelSubnet.defaultPath, root: tree.root), source: "f").isEmpty)
    }

    @Test(
        "rp_filter: the larger of all and the interface's; strict and a route back by another interface is a drop, loose or symmetric is not"
    )
    func reversePaths() throws {
        #expect(ReversePath.effective(all: 0, interface: 1) == 1)
        #expect(ReversePath.effective(all: 2, interface: 1) == 2)
        #expect(ReversePath.effective(all: 1, interface: nil) == 1)
        #expect(ReversePath.effective(all: 0, interface: nil) == nil)
        let address = try #require(IPAddress.parse("10.244.1.2"))
        let path = { (rp: Int?, out: String?) in
            ReversePath(pod: "pod-a", address: address, arrival: "cni0", rpFilter: rp, routeInterface: out, problem: nil)
        }
        #expect(ReversePathChecks.strict([path(1, "cni0"), path(2, "eth0"), path(nil, "eth0"), path(1, nil)]).isEmpty)
        let dropped = ReversePathChecks.strict([path(1, "eth0")])
        #expect(dropped.map(\.code) == [.rpFilterStrict] && dropped.first?.hop == "node:cni0")
    }
}

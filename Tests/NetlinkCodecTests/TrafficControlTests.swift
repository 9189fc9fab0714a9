import NetlinkCodec
import TestSupport
import Testing

/// tc and XDP over rtnetlink as the kernel answered iproute2 (scripts/capture-netlink-fixtures
/// bpf: the lab's tc program loaded by tc as a direct-action filter on veth-pod's egress, its XDP
/// program on uplink in generic mode), against iproute2's own text of the same state.
@Suite("tc qdiscs and filters, and a link's XDP, over rtnetlink")
struct TrafficControlTests {
    static func messages(_ name: String) throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/\(name).bin"))
        return try NetlinkMessage.parseAll(bytes)
    }

    static func text(_ name: String) throws -> String {
        String(decoding: try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/\(name)")), as: UTF8.self)
    }

    @Test("the clsact qdisc is found among the namespace's qdiscs, on veth-pod only")
    func qdiscs() throws {
        let qdiscs = try Self.messages("qdisc-dump").filter { $0.type == .newQdisc }.map { try Qdisc($0) }
        let hooked = qdiscs.filter(\.hasHooks)
        #expect(hooked.count == 1)
        #expect(hooked.first?.kind == "clsact")
        #expect(qdiscs.contains { $0.kind == "noqueue" })
    }

    @Test("the BPF filter: its program's id, name, tag and direct-action, as tc filter show prints them")
    func filter() throws {
        let filters = try Self.messages("filter-dump-egress").filter { $0.type == .newFilter }.map { try TrafficControlFilter($0) }
        let text = try Self.text("filter-dump-egress.tc.txt")
        let bpf = try #require(filters.first { $0.programID != nil })
        #expect(bpf.kind == "bpf")
        #expect(bpf.hook == .egress)
        #expect(bpf.priority == 1)
        #expect(bpf.directAction == true)
        #expect(text.contains("id \(bpf.programID!) "))
        #expect(text.contains("tag \(bpf.programTag ?? "?")"))
        #expect(bpf.programName == "lab_drop.bpf.o:[tc]")
        // The chain's own entry (no handle) carries no program.
        #expect(filters.filter { $0.programID == nil }.allSatisfy { $0.kind == "bpf" })
    }

    @Test("a link's XDP: generic mode and the program's id, as ip -d link show prints them; none elsewhere")
    func xdp() throws {
        let links = try Self.messages("link-dump-xdp").filter { $0.type == .newLink }.map { try Link($0) }
        let uplink = try #require(links.first { $0.name == "uplink" })
        let xdp = try #require(uplink.xdp)
        #expect(xdp.mode == 2)
        #expect(xdp.programs.map(\.mode) == ["generic"])
        let text = try Self.text("link-dump-xdp.ip.txt")
        #expect(text.contains("xdpgeneric"))
        #expect(text.contains("id \(xdp.programs[0].id)"))
        let plain = try Self.messages("link-dump").filter { $0.type == .newLink }.map { try Link($0) }
        #expect(plain.allSatisfy { $0.xdp == nil })
    }

    @Test("requests: a qdisc dump for every device, a filter dump per device and hook, as tcmsg lays them out")
    func requests() throws {
        let qdisc = RouteRequest.qdiscDump()
        #expect(qdisc.type == .getQdisc)
        #expect(qdisc.payload.count == TrafficControlHeader.size)
        let filter = RouteRequest.filterDump(interfaceIndex: 7, hook: .ingress)
        let header = try TrafficControlHeader(parsing: filter.payload[...])
        #expect(header.interfaceIndex == 7)
        #expect(header.parent == 0xFFFF_FFF2)
    }

    @Test("hostile: truncated tcmsg, options that are not attributes: refused or read as far as they go, never a crash")
    func hostile() throws {
        let filter = try #require(try Self.messages("filter-dump-egress").first { $0.type == .newFilter && $0.payload.count > 40 })
        for cut in stride(from: 0, to: filter.payload.count, by: 3) {
            let short = NetlinkMessage(type: .newFilter, flags: [], payload: Array(filter.payload.prefix(cut)))
            _ = try? TrafficControlFilter(short)
            _ = try? Qdisc(short)
        }
        #expect(throws: NetlinkDecodeError.self) { try TrafficControlFilter(NetlinkMessage(type: .newFilter, flags: [], payload: [1, 2])) }
    }
}

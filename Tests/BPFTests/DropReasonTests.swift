import BPF
import Checks
import Diagnosis
import NetAddress
import PathFacts
import TestSupport
import Testing

/// The drop-reason program's records as the kernel wrote them on the lab's faults (trace
/// --drop-reasons with NETDOCTOR_RECORD_FACTS: Fixtures/*.bin), named with the test kernel's own
/// enum skb_drop_reason (Fixtures/skb_drop_reason.h, from bpftool's dump of its BTF).
@Suite("BPF: the kernel's drop reasons, recorded")
struct DropReasonTests {
    static let fixtures = Repository.root + "/Tests/BPFTests/Fixtures/"

    /// The enum as the kernel's BTF names it, read from bpftool's C dump of it.
    static let names: DropReasonNames = {
        let text = String(decoding: Repository.read(fixtures + "skb_drop_reason.h") ?? [], as: UTF8.self)
        var values: [UInt32: String] = [:]
        // "\tSKB_DROP_REASON_NO_SOCKET = 3,"
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=").map { $0.filter { !" \t,".contains($0) } }
            guard parts.count == 2, let value = UInt32(parts[1]) else { continue }
            values[value] = parts[0]
        }
        return DropReasonNames(enumerators: values)
    }()

    static func drops(_ name: String) throws -> [KernelDrop] {
        let bytes = try #require(Repository.read(fixtures + name + ".bin"))
        #expect(bytes.count % DropEventRecord.size == 0)
        return stride(from: 0, to: bytes.count, by: DropEventRecord.size).compactMap {
            DropEventRecord.parse(bytes[$0..<min($0 + DropEventRecord.size, bytes.count)], names: names)
        }
    }

    @Test("the test kernel's names: SKB_DROP_REASON_ taken off, SKB_CONSUMED kept, the reasons a probe meets there")
    func reasonNames() {
        #expect(Self.names.names.count > 100)
        #expect(Self.names.name(1) == "SKB_CONSUMED")
        for reason in ["NETFILTER_DROP", "IP_RPFILTER", "TC_EGRESS", "TC_INGRESS", "NO_SOCKET", "OTHERHOST", "NEIGH_FAILED", "XDP"] {
            #expect(Self.names.names.values.contains(reason), "\(reason)")
        }
        #expect(Self.names.name(60_000) == "reason 60000 (not in this kernel's BTF)")
    }

    @Test("BPF_DROP in IPv4: the lab's tc program dropped pod-a's echo at pod-b's host veth's egress (TC_EGRESS)")
    func tcEgressV4() throws {
        let drops = try Self.drops("bpf-drop-v4")
        let dropped = try #require(drops.first { $0.reasonName == "TC_EGRESS" })
        #expect(dropped.source == IPAddress.parse("10.244.1.2"))
        #expect(dropped.destination == IPAddress.parse("10.244.1.3"))
        #expect(dropped.protocolNumber == 1)
        #expect(dropped.sourcePort == nil)
        #expect(dropped.interfaceIndex > 0)
        #expect(dropped.namespaceInode > 0)
        #expect(dropped.location > 0xffff_0000_0000_0000)
        #expect(dropped.packet == "10.244.1.2 -> 10.244.1.3 ICMP")
    }

    @Test("BPF_DROP in IPv6: the same, for ICMPv6 echo between the pods' IPv6 addresses")
    func tcEgressV6() throws {
        let dropped = try #require(try Self.drops("bpf-drop-v6").first { $0.reasonName == "TC_EGRESS" })
        #expect(dropped.source == IPAddress.parse("fd00:10:244:1::2"))
        #expect(dropped.destination == IPAddress.parse("fd00:10:244:1::3"))
        #expect(dropped.protocolNumber == 58)
    }

    @Test("RP_FILTER: the request dropped by the reverse-path check (IP_RPFILTER)")
    func reversePath() throws {
        let drops = try Self.drops("rp-filter")
        #expect(drops.map(\.reasonName) == ["IP_RPFILTER"])
        #expect(drops.first?.destination == IPAddress.parse("10.244.2.2"))
    }

    @Test("PORT_CLOSED over TCP: NO_SOCKET for the SYN to port 80, with its ports; the bridge's copies as OTHERHOST")
    func noSocket() throws {
        let drops = try Self.drops("port-closed-tcp")
        let refused = try #require(drops.first { $0.reasonName == "NO_SOCKET" })
        #expect(refused.protocolNumber == 6)
        #expect(refused.destinationPort == 80)
        #expect(refused.sourcePort.map { $0 > 0 } == true)
        #expect(refused.packet.hasPrefix("10.244.1.3:"))
        #expect(drops.filter { $0.reasonName == "OTHERHOST" }.count >= 1)
    }

    @Test("hostile records: short, a family other than 4 or 6, an unknown reason: refused or named as unknown, never a crash")
    func hostileRecords() throws {
        let record = try #require(Repository.read(Self.fixtures + "rp-filter.bin"))
        for cut in 0..<DropEventRecord.size { #expect(DropEventRecord.parse(record.prefix(cut)[...], names: Self.names) == nil) }
        var strange = record
        strange[28] = 7
        #expect(DropEventRecord.parse(strange[...], names: Self.names) == nil)
        var unknown = record
        unknown[16] = 0xFF
        unknown[17] = 0xFF
        #expect(DropEventRecord.parse(unknown[...], names: Self.names)?.reasonName.contains("not in this kernel's BTF") == true)
        for _ in 0..<200 {
            let random = (0..<DropEventRecord.size).map { _ in UInt8.random(in: 0...255) }
            _ = DropEventRecord.parse(random[...], names: Self.names)
        }
    }

    @Test("names from the kernel or a program are shown printable and bounded: terminal escapes never pass")
    func printable() {
        #expect(BPFText.printable("cil_from\u{1B}[31mred\u{07}") == "cil_from?[31mred?")
        #expect(BPFText.printable(String(repeating: "x", count: 500)).count == 64)
        #expect(ProgramOwner.of("cil_from_contai") == "Cilium")
        #expect(ProgramOwner.of("calico_tc_main") == "Calico")
        #expect(ProgramOwner.of("mystery") == nil)
    }

    @Test("a drop's location named from kallsyms: the nearest text symbol at or below it, with the offset")
    func symbols() {
        let kallsyms = """
            ffffffff81000000 T _stext
            ffffffff81a00000 T ip_rcv_core
            ffffffff81a00400 t ip_rcv_finish_core
            ffffffff81b00000 D some_data
            0000000000000000 T hidden_without_root
            """
        let named = KernelSymbols.name([0xffff_ffff_81a0_022c, 0xffff_ffff_81a0_0660, 0x10], kallsyms: kallsyms)
        #expect(named[0xffff_ffff_81a0_022c] == "ip_rcv_core+0x22c")
        #expect(named[0xffff_ffff_81a0_0660] == "ip_rcv_finish_core+0x260")
        #expect(named[0x10] == nil)
    }
}

/// Map reading's pure parts: per-CPU values summed as Cilium's tools sum them, type names.
@Suite("BPF: map values")
struct BPFMapValueTests {
    @Test("a per-CPU counter summed over every CPU's value; a value too short counts nothing")
    func perCPU() {
        let entry = BPFMapEntry(
            key: [133, 1, 0, 0, 0, 0, 0, 0],
            values: [
                [2, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 0],
            ])
        #expect(entry.sum64(at: 0) == 5)
        #expect(entry.sum64(at: 8) == 356)
        #expect(entry.sum64(at: 12) == 0)
        #expect(entry.sum64(at: -1) == 0)
    }

    @Test("a link's information as the kernel fills it: tcx's interface and attach point, XDP's interface, others neither")
    func links() {
        func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xFF) } }
        let tcx = BPFLink(info: u32(11) + u32(278) + u32(1327) + u32(0) + u32(6) + u32(47))
        #expect(tcx == BPFLink(id: 278, type: 11, programID: 1327, interfaceIndex: 6, attachType: 47))
        #expect(tcx?.typeName == "tcx")
        let xdp = BPFLink(info: u32(6) + u32(3) + u32(9) + u32(0) + u32(2) + u32(0))
        #expect(xdp?.interfaceIndex == 2 && xdp?.attachType == nil)
        #expect(BPFLink(info: u32(1) + u32(4) + u32(5))?.interfaceIndex == nil)
        #expect(BPFLink(info: [1, 2, 3]) == nil)
    }

    @Test("map types by name; which are per-CPU")
    func types() {
        #expect(BPFMapType.perCPUHash.description == "percpu_hash")
        #expect(BPFMapType.lpmTrie.description == "lpm_trie")
        #expect(BPFMapType(rawValue: 999).description == "type 999")
        #expect(BPFMapType.perCPUHash.isPerCPU && BPFMapType.lruPerCPUHash.isPerCPU && !BPFMapType.hash.isPerCPU)
    }
}

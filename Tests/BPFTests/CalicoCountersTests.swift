import BPF
import CalicoBPF
import Checks
import Diagnosis
import Testing

/// Calico's eBPF counters as felix lays them out (counters.h, reasons.h; docs/calico-ebpf.md):
/// per interface and hook, one u64 per reason, per CPU; the drops that moved, placed on the path.
@Suite("Calico: the eBPF dataplane's counters")
struct CalicoCountersTests {
    /// A map entry as a per-CPU read gives it: key {ifindex, hook}, one block of counters per CPU.
    static func entry(ifindex: UInt32, hook: UInt32, perCPU: [[UInt64]], counters: Int) -> BPFMapEntry {
        let key = withUnsafeBytes(of: ifindex.littleEndian, Array.init) + withUnsafeBytes(of: hook.littleEndian, Array.init)
        let values = perCPU.map { cpu in
            (0..<counters).flatMap { i in withUnsafeBytes(of: (i < cpu.count ? cpu[i] : 0).littleEndian, Array.init) }
        }
        return BPFMapEntry(key: key, values: values)
    }

    @Test("layouts by release: 14, 17 and 25 counters of 8 bytes, 8-byte keys", arguments: CalicoCounters.layouts)
    func layouts(layout: CalicoCountersLayout) {
        #expect(layout.keySize == 8)
        #expect(Int(layout.valueSize) == layout.counters * 8)
        #expect(["cali_counters2": 14, "cali_counters3": 17, "cali_counters5": 25][layout.name] == layout.counters)
    }

    @Test("summed over CPUs as whole u64s; a drop counter that moved, and not the totals or accepts")
    func drops() {
        let layout = CalicoCounters.layouts[1]
        let before = CalicoCounters.counters(
            [Self.entry(ifindex: 7, hook: 1, perCPU: [[10, 0, 8, 0, 2], [5, 0, 5]], counters: 17)], layout: layout)
        #expect(before[CalicoCounterKey(interfaceIndex: 7, hook: 1)]?[0] == 15)
        let after = CalicoCounters.counters(
            [
                Self.entry(ifindex: 7, hook: 1, perCPU: [[12, 0, 9, 0, 2], [6, 0, 5, 0, 1 << 33]], counters: 17),
                Self.entry(ifindex: 9, hook: 0, perCPU: [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]], counters: 17),
                // A value of another size (another release's map): not read.
                BPFMapEntry(key: [7, 0, 0, 0, 2, 0, 0, 0], values: [[1, 2, 3]]),
            ], layout: layout)
        let drops = CalicoCounters.drops(before: before, after: after)
        #expect(drops.map(\.reason) == [4, 12])
        #expect(drops.first?.packets == 1 << 33)
        #expect(drops.first?.reasonText == "Dropped by policy")
        #expect(drops.last?.key.hookName == "tc ingress")
        #expect(drops.last?.reasonText == "Dropped packets with unknown route")
    }

    @Test(
        "a policy drop is POLICY_DENIED at the hop whose counter moved, replacing the guess; another reason BPF_PROGRAM_DROP; off the path or answered: nothing"
    )
    func judged() {
        let drop = CalicoDrop(key: CalicoCounterKey(interfaceIndex: 7, hook: 1), reason: 4, packets: 1)
        var findings = [Finding(.bpfProgramDrop, .warning, "likely", hop: "node:cali1")]
        KernelDrops.judgeCalico(
            CalicoObservation(drops: [drop], layout: "cali_counters3 (Calico 3.30)"), reachable: false, hops: [7: "node:cali1"],
            findings: &findings)
        #expect(findings.map(\.code) == [.policyDenied])
        #expect(findings.first?.message.contains("by policy") == true)
        var route: [Finding] = []
        KernelDrops.judgeCalico(
            CalicoObservation(drops: [CalicoDrop(key: drop.key, reason: 12, packets: 1)], layout: "x"), reachable: false,
            hops: [7: "node:cali1"], findings: &route)
        #expect(route.map(\.code) == [.bpfProgramDrop])
        #expect(route.first?.message.contains("Dropped packets with unknown route") == true)
        #expect(findings.first?.hop == "node:cali1")
        var elsewhere: [Finding] = []
        KernelDrops.judgeCalico(
            CalicoObservation(drops: [drop], layout: "x"), reachable: false, hops: [8: "node:cali2"], findings: &elsewhere)
        #expect(elsewhere.isEmpty)
        var answered: [Finding] = []
        KernelDrops.judgeCalico(
            CalicoObservation(drops: [drop], layout: "x"), reachable: true, hops: [7: "node:cali1"], findings: &answered)
        #expect(answered.isEmpty)
        var unread: [Finding] = []
        KernelDrops.judgeCalico(
            CalicoObservation(drops: [], layout: "cali_counters3: hash, key 8, value 99", problem: "no layout Calico 3.26 to 3.31 writes"),
            reachable: false, hops: [:], findings: &unread)
        #expect(unread.map(\.severity) == [.info])
    }
}

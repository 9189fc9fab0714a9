import BPF
import Checks
import Diagnosis
import NetAddress
import PathFacts
import Testing

/// The verdicts made of the kernel's drops (KernelDrops, pure): placed on a path of hops, copies
/// told from losses, agreement with the verdicts other checks made, and the program named.
@Suite("BPF: verdicts from the kernel's drop reasons")
struct KernelDropsTests {
    static let source = IPAddress.parse("10.244.1.2")!
    static let destination = IPAddress.parse("10.244.1.3")!

    static func hop(_ name: String, role: TraceHop.Role, request: Bool?, reply: Bool? = false) -> ObservedHop {
        let parts = name.split(separator: ":").map(String.init)
        return ObservedHop(
            TraceHop(name: name, remote: "", namespace: parts[0], interface: parts[1], role: role, mtu: 1500, up: true),
            seen: HopSeen(request: request, reply: reply))
    }

    /// pod-a → pod-b on one bridge; the request seen up to `lastSeen` hops.
    static func hops(lastSeen: Int) -> [ObservedHop] {
        let names: [(String, TraceHop.Role)] = [
            ("pod-a:eth0", .source), ("node:veth1", .hostSide), ("node:cni0", .bridge), ("node:veth2", .destinationHostSide),
            ("pod-b:eth0", .destination),
        ]
        return names.enumerated().map { index, hop in Self.hop(hop.0, role: hop.1, request: index < lastSeen) }
    }

    static func fact(_ reason: String, at place: String, programs: [AttachedProgram] = [], reply: Bool = false) -> KernelDropFact {
        KernelDropFact(
            drop: KernelDrop(
                reason: 0, reasonName: reason, location: 0xffff_ffff_81a0_022c, function: "somewhere+0x1", interfaceIndex: 4,
                namespaceInode: 4_026_531_840, source: reply ? destination : source, destination: reply ? source : destination,
                protocolNumber: 1),
            place: place, onPath: true, programs: programs)
    }

    static let labProgram = AttachedProgram(
        interfaceIndex: 4, interface: "veth2", point: .tcEgress,
        program: BPFProgram(id: 121, name: "lab_drop_probe", tag: "2080c4c20e39df60", type: .schedCls), priority: 1, directAction: true)

    @Test("a TC_EGRESS drop where a program is attached: BPF_PROGRAM_DROP naming it; the bridge's OTHERHOST before it is a copy")
    func programDrop() {
        let drops = KernelDrops.sortCopies(
            [Self.fact("OTHERHOST", at: "node:cni0"), Self.fact("TC_EGRESS", at: "node:veth2", programs: [Self.labProgram])],
            hops: Self.hops(lastSeen: 3), reachable: false, source: Self.source)
        #expect(drops.map(\.isCopy) == [true, false])
        var findings: [Finding] = []
        KernelDrops.judge(.observed(drops, lost: 0), findings: &findings)
        #expect(findings.map(\.code) == [.bpfProgramDrop])
        #expect(findings.first?.severity == .error)
        #expect(findings.first?.message.contains("lab_drop_probe") == true)
        #expect(findings.first?.evidence.contains { $0.contains("id 121") } == true)
    }

    @Test("an answered probe's drops are all copies: no finding (the kernel frees copies normally)")
    func answered() {
        let drops = KernelDrops.sortCopies(
            [Self.fact("OTHERHOST", at: "node:cni0"), Self.fact("NO_SOCKET", at: "pod-a:eth0", reply: true)],
            hops: Self.hops(lastSeen: 5), reachable: true, source: Self.source)
        var findings: [Finding] = []
        KernelDrops.judge(.observed(drops, lost: 0), findings: &findings)
        #expect(findings.isEmpty)
    }

    @Test("a drop a verdict already explains adds the kernel's agreement to it, no second finding")
    func agreement() {
        var findings = [Finding(.firewallDrop, .error, "An iptables rule in node dropped the probe.", hop: "node")]
        KernelDrops.judge(.observed([Self.fact("NETFILTER_DROP", at: "node:cni0")], lost: 0), findings: &findings)
        #expect(findings.map(\.code) == [.firewallDrop])
        #expect(findings[0].evidence.last?.hasSuffix("the kernel agrees") == true)
        var routed = [Finding(.noRoute, .error, "node has no route.", hop: "node:cni0")]
        KernelDrops.judge(.observed([Self.fact("IP_INNOROUTES", at: "node:cni0")], lost: 0), findings: &routed)
        #expect(routed.map(\.code) == [.noRoute])
    }

    @Test("IP_RPFILTER: RP_FILTER_DROP with the route back; the lookup it refused is not NO_ROUTE")
    func reversePath() {
        var fact = Self.fact("IP_RPFILTER", at: "node:cni0")
        fact.reverseRoute = "eth0 via 192.168.77.2"
        var findings = [
            Finding(
                .noRoute, .error, "node has no route.", hop: "node:veth1",
                evidence: ["route get 10.244.2.2 from 10.244.1.2 iif 5 (iif veth1) in node: Invalid argument"])
        ]
        KernelDrops.judge(.observed([fact], lost: 0), findings: &findings)
        #expect(findings.map(\.code) == [.rpFilterDrop])
        #expect(findings[0].evidence.contains("the route back to 10.244.1.2 leaves by eth0 via 192.168.77.2"))
    }

    @Test("any other reason is KERNEL_DROP, named; one finding per reason and place however many packets")
    func otherReasons() {
        var findings: [Finding] = []
        KernelDrops.judge(
            .observed([Self.fact("IP_INADDRERRORS", at: "node:cni0"), Self.fact("IP_INADDRERRORS", at: "node:cni0")], lost: 0),
            findings: &findings)
        #expect(findings.map(\.code) == [.kernelDrop])
        #expect(findings[0].evidence.first?.hasSuffix("(2 packets)") == true)
    }

    @Test("not readable: DROP_REASONS_UNAVAILABLE as info, the trace's verdict untouched; a full ring said")
    func unavailable() {
        var findings: [Finding] = []
        KernelDrops.judge(.unavailable("the kernel's BTF has no enum skb_drop_reason"), findings: &findings)
        #expect(findings.map(\.code) == [.dropReasonsUnavailable])
        #expect(findings[0].severity == .info)
        var full: [Finding] = []
        KernelDrops.judge(.observed([], lost: 3), findings: &full)
        #expect(full.map(\.code) == [.dropReasonsUnavailable])
    }

    @Test("a drop in a namespace not on the path is info, not the verdict")
    func elsewhere() {
        var fact = Self.fact("NETFILTER_DROP", at: "net:[4026532999] if 3")
        fact.onPath = false
        var findings: [Finding] = []
        KernelDrops.judge(.observed([fact], lost: 0), findings: &findings)
        #expect(findings.map(\.code) == [.kernelDrop])
        #expect(findings[0].severity == .info)
    }

    @Test("without --drop-reasons: the program on the interface past the last hop that saw the request is the likely cause")
    func likely() {
        let findings = KernelDrops.likelyProgram(
            hops: Self.hops(lastSeen: 3), programs: ["node:veth2": [Self.labProgram]], explained: false)
        #expect(findings.map(\.code) == [.bpfProgramDrop])
        #expect(findings[0].severity == .warning)
        #expect(findings[0].message.contains("last seen at node:cni0"))
        #expect(findings[0].remedy?.contains("--drop-reasons") == true)
        #expect(
            KernelDrops.likelyProgram(hops: Self.hops(lastSeen: 3), programs: ["node:veth2": [Self.labProgram]], explained: true).isEmpty)
        #expect(KernelDrops.likelyProgram(hops: Self.hops(lastSeen: 3), programs: [:], explained: false).isEmpty)
    }
}

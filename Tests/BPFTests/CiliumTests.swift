import BPF
import Checks
import Cilium
import Diagnosis
import NetAddress
import Testing

/// Cilium's maps by the layouts its releases write (docs/cilium.md): recognised by name, type and
/// sizes; its drop counters read and diffed; its reasons in its own words.
@Suite("Cilium: layouts, drop counters, reasons")
struct CiliumTests {
    static func info(_ type: BPFMapType, _ key: UInt32, _ value: UInt32) -> BPFMapInfo {
        BPFMapInfo(id: 1, name: "", type: type, keySize: key, valueSize: value, maxEntries: 1024)
    }

    @Test("the release told from what is pinned: ipcache_v2 and policystats are 1.18, policy_v2 of 24 bytes 1.17, cilium_policy_ 1.14-1.16")
    func releases() throws {
        func releases(_ maps: [(String, BPFMapInfo)]) -> ClosedRange<Int>? {
            CiliumLayouts.releases(of: maps.compactMap { CiliumLayouts.layout(of: $0.1, pinnedAs: $0.0) })
        }
        let metrics = ("cilium_metrics", Self.info(.perCPUHash, 8, 16))
        #expect(releases([metrics]) == 14...18)
        #expect(releases([metrics, ("cilium_ipcache_v2", Self.info(.lpmTrie, 24, 24))]) == 18...18)
        #expect(releases([metrics, ("cilium_policy_v2_01234", Self.info(.lpmTrie, 12, 24))]) == 17...17)
        #expect(
            releases([
                metrics, ("cilium_policy_v2_01234", Self.info(.lpmTrie, 12, 8)), ("cilium_policystats", Self.info(.lruPerCPUHash, 12, 16)),
            ]) == 18...18)
        #expect(
            releases([metrics, ("cilium_policy_00042", Self.info(.lpmTrie, 12, 24)), ("cilium_ipcache", Self.info(.lpmTrie, 24, 12))])
                == 14...16)
        // An upgrade's stale pins beside the new: they contradict, and nothing is guessed.
        #expect(
            releases([("cilium_policy_00042", Self.info(.lpmTrie, 12, 24)), ("cilium_ipcache_v2", Self.info(.lpmTrie, 24, 24))]) == nil)
        // A layout no release writes is not Cilium's as far as netdoctor knows.
        #expect(CiliumLayouts.layout(of: Self.info(.perCPUHash, 12, 16), pinnedAs: "cilium_metrics") == nil)
        #expect(CiliumLayouts.layout(of: Self.info(.lpmTrie, 12, 24), pinnedAs: "cilium_policy_v2_12") == nil)
    }

    static func value(_ count: UInt64, _ bytes: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(count >> (8 * UInt64($0)) & 0xFF) } + (0..<8).map { UInt8(bytes >> (8 * UInt64($0)) & 0xFF) }
    }

    @Test("cilium_metrics: keys of 1.14/1.15 (reserved zeros) and 1.16+ (line, file), summed over CPUs; drops that moved only")
    func metrics() {
        let before = CiliumMetrics(entries: [
            BPFMapEntry(key: [133, 1, 0xA6, 0x08, 2, 0, 0, 0], values: [Self.value(1, 98), Self.value(0, 0)]),
            BPFMapEntry(key: [0, 2, 0, 0, 0, 0, 0, 0], values: [Self.value(10, 1000), Self.value(5, 500)]),
        ])
        let after = CiliumMetrics(entries: [
            BPFMapEntry(key: [133, 1, 0xA6, 0x08, 2, 0, 0, 0], values: [Self.value(1, 98), Self.value(2, 196)]),
            BPFMapEntry(key: [0, 2, 0, 0, 0, 0, 0, 0], values: [Self.value(20, 2000), Self.value(5, 500)]),
            BPFMapEntry(key: [169, 2, 0, 0, 0, 0, 0, 0], values: [Self.value(1, 60)]),
            BPFMapEntry(key: [133, 1], values: [Self.value(9, 9)]),
        ])
        let drops = after.drops(since: before)
        #expect(drops.map(\.key.reason) == [133, 169])
        #expect(drops[0].packets == 2)
        #expect(drops[0].key.line == 2214 && drops[0].key.file == 2 && drops[0].key.direction == 1)
        #expect(drops[1].key.file == 0)
        #expect(after.counters[CiliumMetricKey(reason: 0, direction: 2)]?.packets == 25)
    }

    @Test("reasons in Cilium's words; which count as drops; the file ids by release")
    func reasons() {
        #expect(CiliumDropReasons.text(133) == "Policy denied")
        #expect(CiliumDropReasons.text(181) == "Policy denied by denylist")
        #expect(CiliumDropReasons.text(159).contains("not one Cilium"))
        #expect(
            CiliumDropReasons.isDrop(2) && CiliumDropReasons.isDrop(130) && !CiliumDropReasons.isDrop(0) && !CiliumDropReasons.isDrop(12))
        #expect(CiliumDropReasons.file(2, release: 16) == "bpf_lxc.c")
        #expect(CiliumDropReasons.file(110, release: 17) == "l3.h")
        #expect(CiliumDropReasons.file(110, release: 18) == "local_delivery.h")
        #expect(CiliumDropReasons.file(110, release: nil).contains("or"))
        #expect(CiliumDropReasons.file(250, release: 18) == "unknown(250)")
    }

    @Test("a policy's drop is POLICY_DENIED in Cilium's words, another reason CILIUM_DROP; the kernel's program finding folded in")
    func verdict() {
        let drop = CiliumDropCount(key: CiliumMetricKey(reason: 133, direction: 1, line: 2214, file: 2), packets: 1)
        var findings = [Finding(.bpfProgramDrop, .warning, "likely", hop: "node:lxc1", evidence: ["attached: tc egress: cil_to_containe"])]
        CiliumDrops.judge(CiliumObservation(drops: [drop], releases: 16...16), reachable: false, findings: &findings)
        #expect(findings.map(\.code) == [.policyDenied])
        #expect(findings[0].severity == .error)
        #expect(findings[0].message.contains("Policy denied (ingress), counted at bpf_lxc.c:2214"))
        #expect(findings[0].evidence.contains("attached: tc egress: cil_to_containe"))
        let tunnel = CiliumDropCount(key: CiliumMetricKey(reason: 160, direction: 2, line: 583, file: 2), packets: 1)
        var other: [Finding] = []
        CiliumDrops.judge(
            CiliumObservation(drops: [tunnel], releases: 18...18), reachable: false, at: ("node:lxcb", "node:lxca"), findings: &other)
        #expect(other.map(\.code) == [.ciliumDrop])
        #expect(other.first?.hop == "node:lxca")
        var answered: [Finding] = []
        CiliumDrops.judge(CiliumObservation(drops: [drop], releases: nil), reachable: true, findings: &answered)
        #expect(answered.map(\.severity) == [.info])
        var unread: [Finding] = []
        CiliumDrops.judge(CiliumObservation(drops: [], releases: nil, problem: "no privileges"), reachable: false, findings: &unread)
        #expect(unread.map(\.code) == [.ciliumDrop] && unread[0].severity == .info)
        var quiet: [Finding] = []
        CiliumDrops.judge(CiliumObservation(drops: [], releases: 18...18), reachable: false, findings: &quiet)
        #expect(quiet.isEmpty)
    }

    @Test("cilium_lxc's entries: key and value as Cilium lays them out (IPv4 and IPv6), the host's own endpoint told apart")
    func endpoint() throws {
        func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xFF) } }
        let key4 = [10, 244, 1, 2] + [UInt8](repeating: 0, count: 12) + [1, 0, 0, 0]
        var value =
            u32(6) + [0, 0, 0xD2, 0x04] + u32(0) + u32(0) + [0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x02, 0, 0] + [UInt8](repeating: 0, count: 8)
        value += u32(5678) + u32(0) + [UInt8](repeating: 0, count: 8)
        let endpoint = try #require(CiliumEndpoint(key: key4, value: value))
        #expect(endpoint.address == IPAddress.parse("10.244.1.2"))
        #expect(endpoint.interfaceIndex == 6 && endpoint.endpointID == 1234 && endpoint.identity == 5678 && !endpoint.isHost)
        #expect(endpoint.mac?.description == "0a:58:0a:f4:01:02")
        let key6 = IPAddress.parse("fd00::2")!.bytes + [2, 0, 0, 0]
        #expect(CiliumEndpoint(key: key6, value: value)?.address == IPAddress.parse("fd00::2"))
        #expect(CiliumEndpoint(key: Array(key4.prefix(16)) + [9, 0, 0, 0], value: value) == nil)
        #expect(CiliumEndpoint(key: key4, value: Array(value.prefix(40))) == nil)
        var host = value
        host[8] = 1
        #expect(CiliumEndpoint(key: key4, value: host)?.isHost == true)
    }

    @Test(
        "CILIUM_ENDPOINT_NOT_READY: no endpoint, another device, no or two cil_from_container, an empty policy slot, a stale ipcache identity; none when all is as Cilium makes it"
    )
    func endpointChecks() {
        let address = IPAddress.parse("10.244.1.2")!
        let endpoint = CiliumEndpoint(address: address, interfaceIndex: 6, endpointID: 1234, identity: 5678)
        let program = AttachedProgram(
            interfaceIndex: 6, interface: "lxc1", point: .tcxIngress,
            program: BPFProgram(id: 9, name: "cil_from_contai", tag: "ab", type: .schedCls))
        #expect(
            CiliumEndpointChecks.check(pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [program], endpoints: [endpoint])
                .isEmpty)
        let none = CiliumEndpointChecks.check(pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [program], endpoints: [])
        #expect(none.map(\.code) == [.ciliumEndpointNotReady] && none[0].message.contains("no endpoint"))
        let moved = CiliumEndpointChecks.check(
            pod: "a", addresses: [address], hostVeth: (7, "lxc2"), programs: [program], endpoints: [endpoint])
        #expect(moved.count == 1 && moved[0].message.contains("names device 6"))
        let bare = CiliumEndpointChecks.check(pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [], endpoints: [endpoint])
        #expect(bare.count == 1 && bare[0].message.contains("runs no cil_from_container"))
        // Over netkit (Cilium 1.16+'s netkit mode), the program on the pair's hook is the entry.
        var netkit = program
        netkit.point = .netkitPeer
        #expect(
            CiliumEndpointChecks.check(pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [netkit], endpoints: [endpoint])
                .isEmpty)
        // A stale tc filter beside the tcx link; an empty policy slot; an ipcache identity of another.
        var legacy = program
        legacy.point = .tcIngress
        let twice = CiliumEndpointChecks.check(
            pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [program, legacy], endpoints: [endpoint])
        #expect(twice.map(\.severity) == [.warning] && twice[0].message.contains("2 cil_from_container programs"))
        let slot = CiliumEndpointChecks.check(
            pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [program], endpoints: [endpoint], policySlot: [1234: false])
        #expect(slot.count == 1 && slot[0].message.contains("no program in its cilium_call_policy slot"))
        let stale = CiliumEndpointChecks.check(
            pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [program], endpoints: [endpoint], ipcache: [address: 9999])
        #expect(stale.count == 1 && stale[0].message.contains("identity 9999"))
        #expect(
            CiliumEndpointChecks.check(
                pod: "a", addresses: [address], hostVeth: (6, "lxc1"), programs: [program], endpoints: [endpoint], policySlot: [1234: true],
                ipcache: [address: 5678]
            ).isEmpty)
    }

    @Test(
        "policy map entries: identity and direction always, then protocol (prefix 48), one port (64) or a range (between); deny; counters to 1.17"
    )
    func policyEntries() throws {
        func key(prefix: UInt32, identity: UInt32, egress: Bool, proto: UInt8, port: UInt16) -> [UInt8] {
            (0..<4).map { UInt8(prefix >> (8 * UInt32($0)) & 0xFF) } + (0..<4).map { UInt8(identity >> (8 * UInt32($0)) & 0xFF) }
                + [egress ? 1 : 0, proto, UInt8(port >> 8), UInt8(port & 0xFF)]
        }
        let allow24 = [UInt8](repeating: 0, count: 8) + [3, 0, 0, 0, 0, 0, 0, 0] + [0xC4, 0, 0, 0, 0, 0, 0, 0]
        let exact = try #require(CiliumPolicyEntry(key: key(prefix: 64, identity: 5678, egress: false, proto: 6, port: 80), value: allow24))
        #expect(exact.identity == 5678 && !exact.egress && exact.protocolNumber == 6 && exact.ports == 80...80 && !exact.deny)
        #expect(exact.packets == 3 && exact.bytes == 196)
        #expect(exact.summary == "ingress from identity 5678 TCP 80: allow, 3 packets")
        let range = try #require(
            CiliumPolicyEntry(key: key(prefix: 60, identity: 0, egress: true, proto: 17, port: 8080), value: Array(allow24.prefix(8))))
        #expect(range.ports == 8080...8095 && range.egress && range.packets == nil)
        #expect(range.summary == "egress to any identity UDP 8080-8095: allow")
        let anyPort = try #require(
            CiliumPolicyEntry(key: key(prefix: 48, identity: 7, egress: false, proto: 6, port: 0), value: Array(allow24.prefix(8))))
        #expect(anyPort.ports == nil && anyPort.protocolNumber == 6)
        var deny = Array(allow24.prefix(8))
        deny[2] = 1
        let l3 = try #require(CiliumPolicyEntry(key: key(prefix: 40, identity: 9, egress: false, proto: 0, port: 0), value: deny))
        #expect(l3.protocolNumber == nil && l3.ports == nil && l3.deny)
        #expect(l3.summary == "ingress from identity 9 any protocol: deny")
        #expect(CiliumPolicyEntry(key: key(prefix: 72, identity: 9, egress: false, proto: 0, port: 0), value: deny) == nil)
        #expect(CiliumPolicyEntry(key: [1, 2, 3], value: deny) == nil)
        #expect(CiliumPolicyEntry(key: key(prefix: 64, identity: 1, egress: false, proto: 6, port: 1), value: [1, 2]) == nil)
    }

    static func entry(
        prefix: UInt32, identity: UInt32, egress: Bool = false, proto: UInt8 = 0, port: UInt16 = 0, flags: UInt8 = 0, length: Int = 8
    )
        -> CiliumPolicyEntry
    {
        let prefixBytes: [UInt8] = (0..<4).map { UInt8(prefix >> (8 * UInt32($0)) & 0xFF) }
        let identityBytes: [UInt8] = (0..<4).map { UInt8(identity >> (8 * UInt32($0)) & 0xFF) }
        let rest: [UInt8] = [egress ? 1 : 0, proto, UInt8(port >> 8), UInt8(port & 0xFF)]
        let key = prefixBytes + identityBytes + rest
        var value = [UInt8](repeating: 0, count: length)
        value[2] = flags
        return CiliumPolicyEntry(key: key, value: value)!
    }

    @Test("replay, 1.17+: the identity's deny first; any identity's deny beats the identity's allow; nothing: Policy denied")
    func replayModern() {
        let packet = CiliumPolicyReplay.Packet(identity: 5678, egress: false, protocolNumber: 6, port: 80)
        let allow = Self.entry(prefix: 64, identity: 5678, proto: 6, port: 80)
        let denyAny = Self.entry(prefix: 40, identity: 0, flags: 1)
        #expect(CiliumPolicyReplay.verdict(packet, entries: [allow], modern: true) == .allow(by: allow, proxyPort: 0))
        #expect(CiliumPolicyReplay.verdict(packet, entries: [allow, denyAny], modern: true) == .deny(by: denyAny))
        #expect(CiliumPolicyReplay.verdict(packet, entries: [], modern: true) == .noMatch)
        #expect(
            CiliumPolicyReplay.verdict(packet, entries: [Self.entry(prefix: 64, identity: 5678, proto: 6, port: 443)], modern: true)
                == .noMatch)
        // The allow-all Cilium writes where enforcement is off: identity 0, prefix 40, all zero.
        let allowAll = Self.entry(prefix: 40, identity: 0)
        #expect(CiliumPolicyReplay.verdict(packet, entries: [allowAll], modern: true) == .allow(by: allowAll, proxyPort: 0))
        // ICMP rules key the type: an echo request (8) matches a port-8 entry of protocol 1.
        let icmp = Self.entry(prefix: 64, identity: 5678, proto: 1, port: 8)
        #expect(
            CiliumPolicyReplay.verdict(.init(identity: 5678, egress: false, protocolNumber: 1, port: 8), entries: [icmp], modern: true)
                .dropReason == nil)
        #expect(
            CiliumPolicyReplay.verdict(
                packet, entries: [Self.entry(prefix: 64, identity: 5678, proto: 6, port: 80, flags: 1)], modern: true
            ).dropReason == 181)
    }

    @Test("replay, 1.14-1.16: six steps by wildcards, the identity's port first, any identity's port before the identity's wildcards")
    func replayLegacy() {
        let packet = CiliumPolicyReplay.Packet(identity: 5678, egress: false, protocolNumber: 6, port: 80)
        // The identity's L3-only allow (wildcard protocol and port) and any identity's port-80 deny:
        // step 3 (any identity's port) comes before step 6 (the identity's L3): denied.
        let l3Allow = Self.entry(prefix: 40, identity: 5678, flags: 0x06, length: 24)
        let portDeny = Self.entry(prefix: 64, identity: 0, proto: 6, port: 80, flags: 1, length: 24)
        #expect(CiliumPolicyReplay.verdict(packet, entries: [l3Allow, portDeny], modern: false) == .deny(by: portDeny))
        #expect(CiliumPolicyReplay.verdict(packet, entries: [l3Allow], modern: false) == .allow(by: l3Allow, proxyPort: 0))
        let exact = Self.entry(prefix: 64, identity: 5678, proto: 6, port: 80, length: 24)
        #expect(CiliumPolicyReplay.verdict(packet, entries: [exact, portDeny], modern: false) == .allow(by: exact, proxyPort: 0))
        #expect(CiliumPolicyReplay.verdict(packet, entries: [], modern: false).dropReason == 133)
    }
}

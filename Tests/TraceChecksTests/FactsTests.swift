import Capture
import Checks
import ConfigFormats
import Diagnosis
import Firewall
import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NodeFiles
import PathFacts
import PathMTU
import TestSupport
import Testing
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The codes a trace raises from what the probe showed, and what gathering could not read, on
/// recorded paths with the probe's facts changed as the failure would change them.
@Suite("trace's judgement of the probe's facts and of gaps in the gathering")
struct FactsTests {
    @Test("a lookup the kernel would not answer is COLLECTION_FAILED, never NO_ROUTE")
    func collectionErrors() throws {
        // The recording of a healthy path, with the node's lookups lost: the forwarding decision is unknown.
        let copy = try Scratch.copy(RecordedTrace.directory("overlay-healthy-cross-node"))
        defer { Scratch.remove(copy) }
        unlink(copy + "/node/lookups.txt")
        let recorded = try RecordedTrace("overlay-healthy-cross-node", at: copy)
        let facts = try recorded.facts()
        #expect(facts.answer(.forward)?.failure != nil)
        let findings = PathChecks.run(facts)
        #expect(findings.map(\.code) == [.collectionFailed])
        #expect(findings.first?.severity == .warning)
        #expect(findings.first?.evidence.contains { $0.contains("was not recorded") } == true)
    }

    @Test(
        "a prediction that the path is cut, contradicted by an answered probe, is a warning its check makes",
        arguments: [
            ("overlay-LINK_DOWN", FindingCode.linkDown), ("overlay-NO_ROUTE", .noRoute), ("overlay-NEIGHBOR_FAILED", .neighborFailed),
            ("overlay-OVERLAY_FDB_MISSING", .overlayFDBMissing),
        ])
    func answeredProbeWeighsPredictions(recording: String, code: FindingCode) throws {
        var facts = try RecordedTrace(recording).facts()
        let predicted = try #require(PathChecks.run(facts).first { $0.code == code }, "\(recording): \(code) predicted")
        #expect(predicted.severity == .error)
        facts.probeAnswered = true
        let contradicted = try #require(PathChecks.run(facts).first { $0.code == code })
        #expect(contradicted.severity == .warning)
        #expect(contradicted.evidence.last == "but the probe was answered")
        #expect(contradicted.message == predicted.message)
    }

    @Test("a remote half's hops read back as they were written: one encoding, the agent's MTU and state kept, the node set")
    func remoteHopsRoundTrip() throws {
        let facts = try RecordedTrace("overlay-healthy-cross-node").facts()
        let seen = facts.hops.indices.map { HopSeen(request: true, reply: $0 % 2 == 0) }
        let view = RemoteHalfView(
            node: "node2", hops: ObservedHop.pairing(facts.hops, seen), findings: [], problems: [], hasDestination: true)
        let back = try #require(RemoteHalfView(json: try JSONParser.parse(bytes: JSONWriter.bytes(view.json))))
        #expect(back.hops.map(\.name) == facts.hops.map(\.name))
        #expect(back.hops.map(\.namespaceName) == facts.hops.map(\.namespaceName))
        #expect(back.hops.map(\.seen) == seen)
        #expect(back.hops.map(\.mtu) == facts.hops.map(\.mtu))
        #expect(back.hops.map(\.isUp) == facts.hops.map(\.isUp))
        #expect(back.hops.allSatisfy { $0.node == "node2" && $0.namespace == nil })
    }

    @Test("the kernel's answers: no route, a rejecting route, and errors that are no answer about the network")
    func routeAnswers() throws {
        let query = RouteQuery(destination: try #require(IPAddress.parse("::1")))
        #expect(RouteAnswer.judging(.failure(.kernel(errno: ENETUNREACH, message: nil)), for: query).isNoRoute)
        #expect(RouteAnswer.judging(.failure(.kernel(errno: EACCES, message: nil)), for: query).isNoRoute)
        // EINVAL on a plain lookup is what strict checking answers a request it refuses (REVIEW §6.2).
        #expect(RouteAnswer.judging(.failure(.kernel(errno: EINVAL, message: "Invalid flags")), for: query).failure != nil)
        let input = RouteQuery(destination: try #require(IPAddress.parse("10.0.0.1")), source: IPAddress.parse("10.0.0.2"), inputIndex: 3)
        #expect(RouteAnswer.judging(.failure(.kernel(errno: EINVAL, message: nil)), for: input).isNoRoute)
        #expect(RouteAnswer.judging(.failure(.timedOut(milliseconds: 5000)), for: input).failure != nil)
        #expect(RouteQuery(recorded: input.description) == input)
        #expect(RouteQuery(recorded: "get 10.0.0.1 fibmatch")?.fibMatch == true)
    }

    @Test("the node's namespace is netdoctor's own, found by identity: one named node under /run/netns is not it")
    func nodeIsAnIdentity() throws {
        let tree = NodeTree().write("/var/run/netns/node", "")
        let directory = NamespaceDirectory(root: tree.root, includeProcesses: false)
        #expect(directory.node.isNode && directory.node.path == "/proc/self/ns/net")
        let impostor = try #require(directory.known.first { $0.path.hasPrefix(tree.path) })
        #expect(impostor.name == "node" && !impostor.isNode)
        #expect(directory.named("node")?.isNode == true)
    }

    @Test("an ARP reply names who claims the address; requests, other addresses and short packets do not")
    func arpClaimant() throws {
        let address = try #require(IPAddress.parse("10.244.1.3"))
        let mac: [UInt8] = [0x0e, 0x11, 0x22, 0x33, 0x44, 0x55]
        let reply: [UInt8] = [0, 1, 8, 0, 6, 4, 0, 2] + mac + address.bytes + [0, 0, 0, 0, 0, 0] + [0, 0, 0, 0]
        #expect(AddressClaimProbe.claimant(of: address, in: reply[...]) == LinkAddress(mac))
        var request = reply
        request[7] = 1
        #expect(AddressClaimProbe.claimant(of: address, in: request[...]) == nil)
        #expect(AddressClaimProbe.claimant(of: try #require(IPAddress.parse("10.244.1.4")), in: reply[...]) == nil)
        #expect(AddressClaimProbe.claimant(of: address, in: reply.prefix(27)) == nil)
    }

    @Test(
        "a Neighbor Solicitation as DAD sends it (unspecified source, solicited-node group, hop limit 255, a valid checksum); an advertisement's target MAC read, anything else refused"
    )
    func neighborSolicitation() throws {
        let address = try #require(IPAddress.parse("fd00:77::2"))
        let ns = AddressClaimProbe.neighborSolicitation(for: address)
        #expect(ns.count == 64 && ns[0] == 0x60 && ns[6] == 58 && ns[7] == 255)
        #expect(Array(ns[8..<24]) == [UInt8](repeating: 0, count: 16))
        #expect(Array(ns[24..<40]) == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2])
        #expect(ns[40] == 135 && Array(ns[48..<64]) == address.bytes)
        // The checksum over the pseudo-header and the message, checksum included, folds to zero.
        let pseudo = Array(ns[8..<40]) + [0, 0, 0, 24, 0, 0, 0, 58] + Array(ns[40...])
        #expect(AddressClaimProbe.internetChecksum(pseudo) == 0)
        let mac: [UInt8] = [0x12, 0xac, 0xc5, 0x4a, 0x35, 0x21]
        var na: [UInt8] =
            [0x60, 0, 0, 0, 0, 32, 58, 255] + [UInt8](repeating: 0xfe, count: 16) + [0xff, 0x02] + [UInt8](repeating: 0, count: 13) + [1]
        na += [136, 0, 0, 0, 0x20, 0, 0, 0] + address.bytes + [2, 1] + mac
        #expect(AddressClaimProbe.advertiser(of: address, in: na[...]) == LinkAddress(mac))
        #expect(AddressClaimProbe.advertiser(of: try #require(IPAddress.parse("fd00:77::3")), in: na[...]) == nil)
        #expect(AddressClaimProbe.advertiser(of: address, in: ns[...]) == nil)
        #expect(AddressClaimProbe.advertiser(of: address, in: na.prefix(70)) == nil)
        var zeroLength = na
        zeroLength[65] = 0
        #expect(AddressClaimProbe.advertiser(of: address, in: zeroLength[...]) == nil)
    }

    @Test("FIREWALL_UNREADABLE where a namespace's rules could not be read, FIREWALL_DROP where a counter moved")
    func firewall() throws {
        let recorded = try RecordedTrace("overlay-healthy-cross-node")
        var probe = try #require(recorded.probe)
        probe.firewallBefore[0] = nil
        let unreadable = TraceJudgement.judge(recorded.ends, facts: try recorded.facts(), probe: probe, mtuRemedy: { "" })
        #expect(unreadable.findings.contains { $0.code == .firewallUnreadable && $0.hop == "pod-a" })
        let drop = FirewallRule(table: "filter", chain: "FORWARD", specification: "-s 10.244.1.2/32 -j DROP", packets: 0, bytes: 0)
        var after = drop
        after.packets = 1
        let moved = FirewallDrop.findings(before: [drop], after: [after], in: "node")
        #expect(moved.map(\.code) == [.firewallDrop])
        #expect(moved.first?.evidence.first?.contains("+1 packets") == true)
    }

    @Test("CAPTURE_DROPPED when a hop was not watched for the whole probe")
    func captureDropped() throws {
        let recorded = try RecordedTrace("overlay-healthy-same-node")
        var probe = try #require(recorded.probe)
        probe.outcome.captureProblems = ["node:cni0: the interface went away"]
        let report = TraceJudgement.judge(recorded.ends, facts: try recorded.facts(), probe: probe, mtuRemedy: { "" })
        #expect(report.findings.contains { $0.code == .captureDropped && $0.severity == .warning })
    }

    @Test("AGENT_UNREACHABLE: no agent may be asked (info), or the one asked does not answer (warning)")
    func agentUnreachable() throws {
        let recorded = try RecordedTrace("overlay-healthy-cross-node")
        var probe = try #require(recorded.probe)
        probe.agentFindings = [Finding(.agentUnreachable, .warning, "The agent of the node at 192.168.77.2 could not be asked.")]
        let report = TraceJudgement.judge(recorded.ends, facts: try recorded.facts(), probe: probe, mtuRemedy: { "" })
        #expect(report.findings.contains { $0.code == .agentUnreachable })
        #expect(report.reachable)
    }

    @Test(
        "MTU_MISMATCH and PMTU_BLACKHOLE on the recorded path's interfaces, measured against a scripted path; the remedy is asked only then"
    )
    func mtu() throws {
        let recorded = try RecordedTrace("overlay-healthy-cross-node")
        let interfaces = PathInterfaces.from(try recorded.facts())
        #expect(interfaces.map(\.role) == [.source, .hostSide, .bridge, .overlay, .underlay])
        #expect(PathInterfaces.expectedMTU(interfaces) == 1450)
        var asked = 0
        let remedy = { () -> String in
            asked += 1; return "flannel's MTU"
        }
        let clean = path(interfaces, ScriptedPath(localMTU: 1450, pathMTU: 1450, icmp: true))
        #expect(MTUChecks.findings(for: clean, remedy: remedy).isEmpty)
        #expect(asked == 0)
        var raised = interfaces
        raised[0].mtu = 1500
        let mismatch = path(raised, ScriptedPath(localMTU: 1500, pathMTU: 1450, icmp: true))
        #expect(MTUChecks.findings(for: mismatch, remedy: remedy).map(\.code) == [.mtuMismatch])
        let blackhole = path(raised, ScriptedPath(localMTU: 1500, pathMTU: 1450, icmp: false))
        #expect(Set(MTUChecks.findings(for: blackhole, remedy: remedy).map(\.code)) == [.mtuMismatch, .pmtuBlackhole])
        #expect(asked > 0)
    }

    func path(_ interfaces: [PathInterface], _ transport: ScriptedPath) -> ProbedPath {
        let measurement = PMTUSearch(timeoutMilliseconds: 10).measure(
            transport, start: PathInterfaces.sourceMTU(interfaces),
            hint: PathInterfaces.expectedMTU(interfaces))
        return ProbedPath(
            source: "pod-a", destination: "10.244.2.2", destinationAddress: IPAddress.parse("10.244.2.2")!,
            measurement: measurement, interfaces: interfaces)
    }
}

/// A path as the MTU search sees it: what each size meets.
final class ScriptedPath: ProbeTransport {
    let localMTU: Int?
    let pathMTU: Int
    let icmp: Bool

    init(localMTU: Int?, pathMTU: Int, icmp: Bool) {
        self.localMTU = localMTU
        self.pathMTU = pathMTU
        self.icmp = icmp
    }

    func probe(size: Int, timeoutMilliseconds: Int32) -> ProbeOutcome {
        if let local = localMTU, size > local { return .localLimit(mtu: local) }
        if size <= pathMTU { return .passed(from: IPAddress.parse("10.244.2.2")) }
        return icmp ? .fragmentationNeeded(from: IPAddress.parse("10.244.1.1"), mtu: pathMTU) : .silent
    }
}

/// Throw-away copies of a recording.
enum Scratch {
    static func copy(_ directory: String) throws -> String {
        var template = Array("/tmp/netdoctor-facts-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let target = String(cString: try #require(made))
        let result = ChildProcess.run("/bin/cp", arguments: ["-a", directory + "/.", target], environment: [], timeoutMilliseconds: 10_000)
        try #require(result?.status == 0)
        return target
    }

    static func remove(_ directory: String) {
        _ = ChildProcess.run("/bin/rm", arguments: ["-rf", directory], environment: [], timeoutMilliseconds: 10_000)
    }
}

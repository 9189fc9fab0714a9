import Checks
import Cilium
import Diagnosis
import NetAddress
import NodeFiles
import SwiftProtobuf
import TestSupport
import Testing

@testable import Hubble

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Hubble's client: flows decoded as Cilium's messages lay them out (the subset of
/// api/v1/flow in Protos/hubble), asked of a stand-in Observer over a Unix socket as a node's
/// Hubble is asked, and the servers that stall or answer garbage: one line each, bounded.
@Suite("Hubble: flows of the probe from the node's Observer")
struct HubbleTests {
    static func ip(_ text: String) -> IPAddress { IPAddress.parse(text)! }

    /// A drop as Hubble reports a policy deny (Cilium 1.18 names the policies).
    static func deniedFlow(from source: String = "10.247.1.2", to destination: String = "10.247.1.3") -> Flow_Flow {
        var flow = Flow_Flow()
        flow.verdict = .dropped
        flow.dropReasonDesc = Flow_DropReason(rawValue: 133)!
        flow.ip.source = source
        flow.ip.destination = destination
        flow.trafficDirection = .ingress
        flow.nodeName = "node1"
        var policy = Flow_Policy()
        policy.name = "deny-all"
        policy.namespace = "default"
        policy.kind = "NetworkPolicy"
        flow.ingressDeniedBy = [policy]
        flow.summary = "ICMPv4 EchoRequest"
        return flow
    }

    @Test("a flow read back from its bytes: verdict, Cilium's reason, direction, the denying policy; control bytes made harmless")
    func decoded() throws {
        var flow = Self.deniedFlow()
        flow.summary = "evil\u{1b}[31m"
        let bytes: [UInt8] = try flow.serializedBytes()
        let read = HubbleFlow(try Flow_Flow(serializedBytes: bytes))
        #expect(read.verdict == "DROPPED")
        #expect(read.dropReason == 133)
        #expect(read.direction == "INGRESS")
        #expect(read.deniedBy == ["NetworkPolicy default/deny-all"])
        #expect(read.node == "node1")
        #expect(!read.summary.contains("\u{1b}"))
        // A flow of an older Hubble: the deprecated numeric reason only, no policies.
        var old = Flow_Flow()
        old.verdict = .dropped
        old.dropReason = 181
        #expect(HubbleFlow(old).dropReason == 181)
        #expect(HubbleFlow(old).deniedBy.isEmpty)
    }

    /// The lab's stand-in Observer (`lab serve --hubble`) in a process of its own, serving the
    /// fixture's `hubble observe -o jsonpb` lines: the server keeps its own threads, so the
    /// client's wait (on the test's thread, as the commands wait) starves nothing.
    final class StandIn {
        let tree = NodeTree()
        let path: String
        let pid: Int32

        init(flows: String = "observe-policy-drop.jsonpb", delayMilliseconds: Int = 0) throws {
            path = tree.path + "/hubble.sock"
            let fixture = Repository.root + "/Tests/HubbleTests/Fixtures/" + flows
            guard
                let pid = ChildProcess.spawnDetached(
                    Binary.path,
                    arguments: [
                        "lab", "serve", "--hubble", path, "--hubble-flows", fixture, "--hubble-delay", String(delayMilliseconds),
                    ],
                    environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], log: tree.path + "/hubble.log")
            else { throw TestFailure("cannot start the Hubble stand-in") }
            self.pid = pid
            for _ in 0..<300 where access(path, F_OK) != 0 { usleep(10_000) }
        }

        deinit {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// The client waits for its answer on its thread, as the commands do; here on a thread of
    /// its own, off the tests' task pool (on two cores, blocking tests can take all of it, and
    /// the client's own task needs one).
    func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            ServerThread.start { continuation.resume(with: Result { try body() }) }
        }
    }

    @Test("the probe's flows, both ways, and no other's; a line Hubble sends of lost events skipped")
    func asked() async throws {
        let hubble = try StandIn()
        let path = hubble.path
        let got = try await offPool {
            // A loaded test machine's budget: the stand-in is a debug build started a moment ago.
            try HubbleClient.flows(socket: path, between: Self.ip("10.247.1.2"), and: Self.ip("10.247.1.3"), since: 0, budget: .seconds(8))
        }
        #expect(got.count == 1)
        #expect(got.first?.verdict == "DROPPED")
        #expect(got.first?.dropReason == 133)
        #expect(got.first?.deniedBy == ["NetworkPolicy default/allow-8080"])
        let v6 = try await offPool {
            try HubbleClient.flows(
                socket: path, between: Self.ip("fd00:10:247:1::3"), and: Self.ip("fd00:10:247:1::2"), since: 0, budget: .seconds(8))
        }
        #expect(v6.first?.dropReason == 181)
        #expect(v6.first?.deniedBy == ["CiliumNetworkPolicy default/deny-client"])
    }

    @Test("a Hubble that stalls: timed out within the budget, one line")
    func stalls() throws {
        let hubble = try StandIn(delayMilliseconds: 10_000)
        let started = Elapsed.now()
        let error = #expect(throws: HubbleError.self) {
            _ = try HubbleClient.flows(
                socket: hubble.path, between: Self.ip("10.247.1.2"), and: Self.ip("10.247.1.3"), since: 0, budget: .milliseconds(300))
        }
        #expect(error?.description.contains("did not answer within") == true, "\(String(describing: error))")
        #expect(Elapsed.now() - started < 2)
        // A socket that accepts and says nothing at all.
        let silent = try FakeUnixServer(reply: nil)
        let begun = Elapsed.now()
        #expect(throws: HubbleError.self) {
            _ = try HubbleClient.flows(
                socket: silent.path, between: Self.ip("10.247.1.2"), and: Self.ip("10.247.1.3"), since: 0, budget: .milliseconds(300))
        }
        #expect(Elapsed.now() - begun < 2)
    }

    @Test("garbage on the socket, or nobody there: failed, one line, within the budget")
    func garbage() throws {
        let fake = try FakeUnixServer(reply: Array("HTTP/1.1 400 Bad Request\r\n\r\n\u{1b}[31mgarbage".utf8))
        let started = Elapsed.now()
        do {
            _ = try HubbleClient.flows(socket: fake.path, between: Self.ip("10.247.1.2"), and: Self.ip("10.247.1.3"), since: 0)
            Issue.record("garbage accepted")
        } catch {
            #expect(!error.description.contains("\n") && !error.description.contains("\u{1b}"), "\(error)")
        }
        // Within the budget and its backstop: gRPC may try the connection again until then.
        #expect(Elapsed.now() - started < 3)
        #expect(throws: HubbleError.self) {
            _ = try HubbleClient.flows(socket: "/nonexistent/hubble.sock", between: Self.ip("10.0.0.1"), and: Self.ip("10.0.0.2"), since: 0)
        }
    }

    @Test("POLICY_DENIED with Hubble's word: the policies it names, which source spoke; Hubble alone when the counters said nothing")
    func judged() {
        let flow = HubbleFlow(Self.deniedFlow())
        let drop = CiliumDropCount(key: CiliumMetricKey(reason: 133, direction: 1, line: 0, file: 0), packets: 1)
        var both: [Finding] = []
        var observation = CiliumObservation(drops: [drop], releases: 18...18)
        observation.hubble = [flow]
        CiliumDrops.judge(observation, reachable: false, at: ("node:lxcb", "node:lxca"), findings: &both)
        #expect(both.count == 1)
        #expect(both.first?.message.contains("Hubble names NetworkPolicy default/deny-all") == true, "\(both)")
        #expect(both.first?.evidence.first?.hasPrefix("Hubble (node1)") == true)
        #expect(both.first?.hop == "node:lxcb")
        var alone: [Finding] = []
        var quiet = CiliumObservation(drops: [], releases: 18...18)
        quiet.hubble = [flow]
        CiliumDrops.judge(quiet, reachable: false, at: ("node:lxcb", "node:lxca"), findings: &alone)
        #expect(alone.map(\.code) == [.policyDenied])
        #expect(alone.first?.message.contains("Policy denied by NetworkPolicy default/deny-all") == true, "\(alone)")
        var unasked: [Finding] = []
        var failed = CiliumObservation(drops: [drop], releases: 18...18)
        failed.hubbleProblem = "Hubble at /var/run/cilium/hubble.sock did not answer within 2 seconds"
        CiliumDrops.judge(failed, reachable: false, findings: &unasked)
        #expect(unasked.first?.evidence.first?.hasPrefix("Hubble not asked") == true)
    }
}

import ConfigFormats
import Foundation
import NetAddress
import TestSupport
import Testing
@testable import Watch

/// The watcher's pure parts: the ring, the incident log (bounded, a lasting failure counted on
/// one incident, kept across a restart), and the incidents report.
@Suite("agent --watch: ring, incidents")
struct WatchTests {
    @Test("the ring: each node probes the next N by name hash; every node is probed as often; stable under reordering")
    func ring() {
        let nodes = (1...12).map { "node\($0)" }
        var probedBy: [String: Int] = [:]
        for node in nodes {
            let peers = PeerRing.peers(of: node, among: nodes, size: 3)
            #expect(peers.count == 3 && !peers.contains(node) && Set(peers).count == 3)
            #expect(PeerRing.peers(of: node, among: nodes.reversed(), size: 3) == peers)
            for peer in peers { probedBy[peer, default: 0] += 1 }
        }
        #expect(probedBy.values.allSatisfy { $0 == 3 } && probedBy.count == 12)
        #expect(PeerRing.peers(of: "node1", among: ["node1", "node2"], size: 3) == ["node2"])
        #expect(PeerRing.peers(of: "node1", among: [], size: 3).isEmpty)
        // One node more moves few assignments: the ring rotates, it is not reshuffled.
        let before = PeerRing.peers(of: "node1", among: nodes, size: 3)
        let after = PeerRing.peers(of: "node1", among: nodes + ["node13"], size: 3)
        #expect(Set(before).intersection(after).count >= 2)
    }

    func incident(_ target: String, codes: [String], at time: Double = 1000) -> Incident {
        Incident(
            id: 0, time: time, sourceNode: "node1", targetNode: "node2", kind: "pod", target: target, probe: "ICMP echo",
            reachable: false, verdict: "x", codes: codes, report: .fields(["hops": .array([])]))
    }

    @Test("the log: bounded, newest first, a lasting failure counted on its incident, a new verdict a new incident, kept in its file")
    func log() throws {
        let path = NSTemporaryDirectory() + "netdoctor-incidents-\(getpid()).json"
        defer { unlink(path) }
        let log = IncidentLog(limit: 3, path: path)
        log.add(incident("10.0.0.1", codes: ["FIREWALL_DROP"]))
        let again = log.add(incident("10.0.0.1", codes: ["FIREWALL_DROP"], at: 1002))
        #expect(again.count == 2 && again.id == 1 && log.list().count == 1)
        log.add(incident("10.0.0.1", codes: ["MTU_MISMATCH"]))
        log.add(incident("10.0.0.2", codes: []))
        log.add(incident("10.0.0.3", codes: []))
        #expect(log.list().map(\.id) == [4, 3, 2])
        #expect(log.list(node: "node2").count == 3 && log.list(node: "node9").isEmpty)
        // A restarted agent reads them back and numbers on.
        let restarted = IncidentLog(limit: 3, path: path)
        #expect(restarted.list().map(\.id) == [4, 3, 2])
        #expect(restarted.add(incident("10.0.0.4", codes: [])).id == 5)
        // A file that is not one: an empty log, no crash.
        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(IncidentLog(limit: 3, path: path).list().isEmpty)
    }

    @Test("the report: each incident a finding with its trace's code (WATCH_PROBE_FAILED unexplained); exit 1 when any")
    func report() {
        var explained = incident("10.0.0.1", codes: ["FIREWALL_DROP"])
        explained.report = .fields(["findings": .array([.fields(["code": .string("FIREWALL_DROP"), "severity": .string("error")])])])
        let answer: ConfigValue = .fields([
            "node": .string("node1"), "incidents": .array([explained.json, incident("10.0.0.9", codes: []).json]),
        ])
        let report = IncidentsReport(agent: "192.168.77.1:9449", answer: answer)
        #expect(report.findings.map(\.code.rawValue) == ["FIREWALL_DROP", "WATCH_PROBE_FAILED"])
        #expect(report.exitStatus == 1)
        #expect(IncidentsReport(agent: "a", answer: .fields(["incidents": .array([])])).exitStatus == 0)
    }
}

import NetAddress
import PathMTU
import Testing

/// A path as the search sees it: what each size meets. Only the search's logic is under test
/// here; the privileged suite measures real paths.
final class ScriptedPath: ProbeTransport {
    let localMTU: Int?
    /// The largest size that crosses.
    let pathMTU: Int
    /// Whether the hop where it shrinks answers with ICMP "fragmentation needed".
    let icmp: Bool
    /// Probes lost at random (every n-th), as a lossy path loses them.
    let loseEvery: Int?
    var sent: [Int] = []

    init(localMTU: Int?, pathMTU: Int, icmp: Bool, loseEvery: Int? = nil) {
        self.localMTU = localMTU
        self.pathMTU = pathMTU
        self.icmp = icmp
        self.loseEvery = loseEvery
    }

    func probe(size: Int, timeoutMilliseconds: Int32) -> ProbeOutcome {
        sent.append(size)
        if let n = loseEvery, sent.count % n == 0 { return .silent }
        if let local = localMTU, size > local { return .localLimit(mtu: local) }
        if size <= pathMTU { return .passed(from: IPAddress.parse("10.244.2.2")) }
        return icmp ? .fragmentationNeeded(from: IPAddress.parse("10.244.1.1"), mtu: pathMTU) : .silent
    }
}

@Suite("Path MTU search")
struct PMTUSearchTests {
    let search = PMTUSearch(timeoutMilliseconds: 10)

    @Test("a clean path: one probe at the interface's size")
    func clean() {
        let path = ScriptedPath(localMTU: 1450, pathMTU: 1450, icmp: true)
        let m = search.measure(path, start: 1450)
        #expect(m.pathMTU == 1450)
        #expect(m.verdict == .clean)
        #expect(path.sent == [1450])
    }

    @Test("ICMP fragmentation needed: the size it names, verified")
    func icmp() {
        let path = ScriptedPath(localMTU: 1500, pathMTU: 1450, icmp: true)
        let m = search.measure(path, start: 1500)
        #expect(m.pathMTU == 1450)
        #expect(m.verdict == .icmp(from: IPAddress.parse("10.244.1.1"), mtu: 1450))
        #expect(path.sent == [1500, 1450])
    }

    @Test("a black hole at the expected size: found in a handful of probes", arguments: [1450, 1400, 1337, 1281])
    func blackhole(pathMTU: Int) {
        let path = ScriptedPath(localMTU: 1500, pathMTU: pathMTU, icmp: false)
        let m = search.measure(path, start: 1500, hint: 1450)
        #expect(m.pathMTU == pathMTU)
        #expect(m.verdict == .blackhole)
        #expect(m.firstSilentSize == pathMTU + 1)
        #expect(path.sent.count <= 26)
    }

    @Test("a lost probe is sent again before it counts as silent")
    func loss() {
        let path = ScriptedPath(localMTU: 1450, pathMTU: 1450, icmp: true, loseEvery: 1_000_000)
        let lossy = ScriptedPath(localMTU: 1500, pathMTU: 1500, icmp: true, loseEvery: 2)
        #expect(search.measure(path, start: 1450).pathMTU == 1450)
        let m = search.measure(lossy, start: 1500)
        #expect(m.pathMTU == 1500)
        #expect(m.verdict == .clean)
    }

    @Test("nothing answers: no path MTU, a clear verdict")
    func noAnswer() {
        let path = ScriptedPath(localMTU: 1500, pathMTU: 0, icmp: false)
        let m = search.measure(path, start: 1500)
        #expect(m.pathMTU == nil)
        if case .noAnswer = m.verdict {} else { Issue.record("verdict \(m.verdict)") }
    }

    @Test("a larger start than the interface allows: the local limit is taken")
    func localLimit() {
        let path = ScriptedPath(localMTU: 1400, pathMTU: 1400, icmp: true)
        #expect(search.measure(path, start: 9000).pathMTU == 1400)
    }
}

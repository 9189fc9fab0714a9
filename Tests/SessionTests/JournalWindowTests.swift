import NodeCheck
import Testing

@testable import Session

/// The watching agent's journal between checks: what a read after the cursor adds, what the
/// hour's window lets go, a read from the start (a cursor the journal lost) replacing it all.
@Suite("check's journal window, kept between a watcher's intervals")
struct JournalWindowTests {
    func failure(_ sandbox: String, at time: Double) -> SandboxFailure {
        SandboxLog.failure(
            in: "failed to setup network for sandbox \"\(sandbox)\": plugin type=\"bridge\" failed (add): no IP addresses available"[...],
            time: time, source: "journal: containerd.service")!
    }

    @Test("continued reads add to what is kept; the window's start lets old ones go; no new entry keeps the cursor")
    func continued() {
        let window = JournalWindow()
        window.keep([failure("a", at: 100), failure("b", at: 200)], continued: false, since: 0, cursor: "c1")
        #expect(window.cursor == "c1" && window.failures.count == 2)
        window.keep([failure("c", at: 300)], continued: true, since: 150, cursor: "c2")
        #expect(window.failures.map(\.time) == [200, 300])
        #expect(window.cursor == "c2")
        window.keep([], continued: true, since: 150, cursor: nil)
        #expect(window.cursor == "c2" && window.failures.count == 2)
    }

    @Test("a read from the window's start (the cursor rotated away) replaces what was kept")
    func restarted() {
        let window = JournalWindow()
        window.keep([failure("a", at: 100)], continued: false, since: 0, cursor: "c1")
        window.keep([failure("z", at: 500)], continued: false, since: 0, cursor: nil)
        #expect(window.failures.map(\.time) == [500])
        #expect(window.cursor == nil)
    }

    @Test("at most 20,000 failures are kept, the newest")
    func bounded() {
        let window = JournalWindow()
        window.keep((0..<20_010).map { failure("s\($0)", at: Double($0)) }, continued: false, since: 0, cursor: "c")
        #expect(window.failures.count == JournalWindow.limit)
        #expect(window.failures.first?.time == 10)
    }
}

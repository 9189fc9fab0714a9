import NetSystem
import Synchronization
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Trace sessions waiting for their caller's probe, each with a deadline: a caller that never
/// comes back does not leave captures open.
final class TraceSessions: Sendable {
    private struct Open {
        var session: RemoteHalfSession
        var deadline: UInt64
    }

    private let open = Mutex<[String: Open]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var count: Int { open.withLock { $0.count } }

    /// Whether another session may start (checked before the work of starting one).
    var hasRoom: Bool { count < limit }

    func add(_ session: RemoteHalfSession, windowMilliseconds: Int) -> String? {
        let id = Self.newID()
        let deadline = Self.nowMilliseconds() + UInt64(windowMilliseconds)
        let added = open.withLock { open -> Bool in
            guard open.count < limit else { return false }
            open[id] = Open(session: session, deadline: deadline)
            return true
        }
        if !added { session.abandon() }
        return added ? id : nil
    }

    func take(_ id: String) -> RemoteHalfSession? { open.withLock { $0.removeValue(forKey: id)?.session } }

    /// Ends the sessions past their deadline; returns how many.
    func expire() -> Int {
        let now = Self.nowMilliseconds()
        let expired = open.withLock { open -> [RemoteHalfSession] in
            let gone = open.filter { $0.value.deadline <= now }
            for id in gone.keys { open.removeValue(forKey: id) }
            return gone.values.map(\.session)
        }
        for session in expired { session.abandon() }
        return expired.count
    }

    static func nowMilliseconds() -> UInt64 { MonotonicClock.nanoseconds / 1_000_000 }

    /// 128 random bits, hex: not guessable by another caller.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}

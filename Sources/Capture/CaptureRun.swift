#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Drives a session until a stop condition and hands packets on in time order. Packets from
/// several capture threads are held for a short window before they are passed on, so that one
/// point's late batch still sorts before another's later packets.
public struct CaptureRun {
    public var count: Int?
    public var durationSeconds: Double?
    /// How long packets wait for others that may sort before them.
    public var reorderWindowNanoseconds: Int64 = 200_000_000

    public init(count: Int?, durationSeconds: Double?) {
        self.count = count
        self.durationSeconds = durationSeconds
    }

    public struct Outcome: Sendable {
        public var delivered: Int
        public var perPoint: [Int]
        public var statistics: [(received: UInt64, dropped: UInt64, interfaceDropped: UInt64)]
        public var reason: String
    }

    /// Runs `session` until `count` packets, `durationSeconds`, or `shouldStop()` (a signal);
    /// `deliver` gets each packet in time order. Every packet captured before the stop is
    /// delivered (up to `count`).
    public func run(_ session: CaptureSession, shouldStop: () -> Bool, deliver: (Packet) throws -> Void) rethrows -> Outcome {
        var held: [Packet] = []
        var delivered = 0
        var perPoint = [Int](repeating: 0, count: session.points.count)
        let started = realtimeNanoseconds()
        let deadline = durationSeconds.map { started + Int64($0 * 1e9) }
        var reason = "stopped"
        session.start()
        if session.isDirect {
            // The capture thread writes; this one only watches the stop conditions.
            while true {
                if let count, session.directCount >= count { reason = "\(count) packets"; break }
                if shouldStop() { reason = "interrupted"; break }
                if let deadline, realtimeNanoseconds() >= deadline { reason = "\(durationSeconds!) s elapsed"; break }
                if !session.problems.isEmpty { reason = session.problems.joined(separator: "; "); break }
                // Nothing to merge here: check the stop conditions ten times a second (a signal or
                // the count is seen within 100 ms), and wake for the deadline on time.
                let untilDeadline = deadline.map { max(0, ($0 - realtimeNanoseconds()) / 1000) } ?? 100_000
                usleep(UInt32(min(100_000, untilDeadline)))
            }
            session.stop()
            let written = session.directCount
            return Outcome(delivered: written, perPoint: [written], statistics: session.handles.map(\.statistics), reason: reason)
        }

        func release(upTo cutoff: Int64?) throws -> Bool {
            // Each point's packets come in order; only packets of several points need sorting.
            if held.indices.dropFirst().contains(where: { held[$0].timestamp < held[$0 - 1].timestamp }) {
                held.sort { $0.timestamp < $1.timestamp }
            }
            var released = 0
            for packet in held {
                if let cutoff, packet.timestamp >= cutoff { break }
                if let count, delivered >= count { break }
                try deliver(packet)
                delivered += 1
                perPoint[packet.point] += 1
                released += 1
            }
            held.removeFirst(released)
            return count.map { delivered >= $0 } ?? false
        }

        // One point's packets are already in order: nothing to wait for.
        let window = session.points.count > 1 ? reorderWindowNanoseconds : 0
        while true {
            held += session.take()
            if try release(upTo: realtimeNanoseconds() - window) { reason = "\(delivered) packets"; break }
            if shouldStop() { reason = "interrupted"; break }
            if let deadline, realtimeNanoseconds() >= deadline { reason = "\(durationSeconds!) s elapsed"; break }
            if !session.problems.isEmpty && session.points.count == 1 { reason = session.problems.joined(separator: "; "); break }
            usleep(20_000)
        }
        session.stop()
        held += session.take()
        _ = try release(upTo: nil)
        return Outcome(delivered: delivered, perPoint: perPoint, statistics: session.handles.map(\.statistics), reason: reason)
    }
}

func realtimeNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

import NetAddress

/// Something that sends one don't-fragment probe and reports its fate: the probe socket, or in
/// the search's unit tests a scripted path.
public protocol ProbeTransport {
    /// The kernel's idea of the path MTU (IP_MTU), used only when nothing better is known.
    var localMTU: Int? { get }
    func probe(size: Int, timeoutMilliseconds: Int32) -> ProbeOutcome
}

/// One probe sent, and what became of it.
public struct ProbeRecord: Sendable, Equatable {
    public var size: Int
    public var outcome: ProbeOutcome
    public var milliseconds: Int
}

/// The measured path MTU towards one destination, with every probe that decided it.
public struct PathMeasurement: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// The largest size the interface allows crossed the whole path.
        case clean
        /// A hop answered "fragmentation needed": PMTU discovery works, the path is smaller.
        case icmp(from: IPAddress?, mtu: Int)
        /// Sizes above `pathMTU` vanished without an ICMP error: a PMTU black hole.
        case blackhole
        /// No size got an answer, or an ICMP error other than "too big" came back.
        case noAnswer(String)
    }

    /// The largest size that crossed, nil when none did.
    public var pathMTU: Int?
    /// What this host allows towards the destination (route or device MTU).
    public var localMTU: Int?
    public var verdict: Verdict
    public var probes: [ProbeRecord]
    /// The smallest size that vanished, for a black hole.
    public var firstSilentSize: Int?
}

/// Finds the largest size that crosses a path, as RFC 4821/8899 describe: the interface's size
/// first (one probe when all is well), then the size an ICMP error names, and where probes
/// vanish, a bisection between the largest size that passed and the smallest that did not.
/// Silent probes are sent twice before they count as lost.
public struct PMTUSearch: Sendable {
    public var timeoutMilliseconds: Int32
    /// Sizes tried to find a floor that crosses when the interface's size does not.
    public var floors: [Int] = [1280, 576]

    public init(timeoutMilliseconds: Int32 = 300) { self.timeoutMilliseconds = timeoutMilliseconds }

    /// Every probe sent during one measurement, in order.
    final class ProbeLog {
        var records: [ProbeRecord] = []
    }

    /// `hint`: the MTU this node's interfaces say the path should carry; tried first where
    /// probes vanish, so a black hole at the expected size takes two probes, not a bisection.
    /// `start`: the size to try first, the source interface's (or its route's) configured MTU.
    /// Not IP_MTU: that is the kernel's cached path MTU, which an earlier ping may have lowered.
    public func measure(_ socket: some ProbeTransport, start: Int? = nil, hint: Int? = nil) -> PathMeasurement {
        let log = ProbeLog()
        func send(_ size: Int) -> ProbeOutcome {
            for attempt in 0..<2 {
                let started = monotonicMilliseconds()
                let outcome = socket.probe(size: size, timeoutMilliseconds: timeoutMilliseconds)
                log.records.append(ProbeRecord(size: size, outcome: outcome, milliseconds: Int(monotonicMilliseconds() - started)))
                if outcome != .silent || attempt == 1 { return outcome }
            }
            return .silent
        }

        let localMTU = socket.localMTU
        var high = start ?? localMTU ?? 1500
        var icmp: (from: IPAddress?, mtu: Int)? = nil
        // Down from the interface's size, following what hops and this host say.
        for _ in 0..<8 {
            switch send(high) {
            case .passed:
                let verdict: PathMeasurement.Verdict = icmp.map { .icmp(from: $0.from, mtu: $0.mtu) } ?? .clean
                return PathMeasurement(pathMTU: high, localMTU: localMTU, verdict: verdict, probes: log.records, firstSilentSize: nil)
            case .fragmentationNeeded(let from, let mtu):
                icmp = (from, mtu)
                high = min(mtu, high - 1)
            case .localLimit(let mtu):
                high = min(mtu, high - 1)
            case .unreachable(let from, let type, let code, _):
                return PathMeasurement(
                    pathMTU: nil, localMTU: localMTU,
                    verdict: .noAnswer("ICMP type \(type) code \(code)\(from.map { " from \($0)" } ?? "")"),
                    probes: log.records, firstSilentSize: nil)
            case .silent:
                return bisect(below: high, localMTU: localMTU, icmp: icmp, hint: hint, log: log, send: send)
            }
        }
        return PathMeasurement(
            pathMTU: nil, localMTU: localMTU, verdict: .noAnswer("the sizes named by ICMP errors kept failing"),
            probes: log.records, firstSilentSize: nil)
    }

    /// `high` vanished: find a size that crosses, then bisect.
    private func bisect(
        below high: Int, localMTU: Int?, icmp: (from: IPAddress?, mtu: Int)?, hint: Int?, log: ProbeLog,
        send: (Int) -> ProbeOutcome
    ) -> PathMeasurement {
        var icmp = icmp
        var low: Int? = nil
        var silent = high
        let candidates = (hint.map { $0 < high && $0 > 576 ? [$0] : [] } ?? []) + floors
        for floor in candidates where floor < silent {
            switch send(floor) {
            case .passed: low = floor
            case .fragmentationNeeded(let from, let mtu):
                icmp = (from, mtu)
                silent = min(silent, floor)
            case .unreachable(let from, let type, let code, _):
                return PathMeasurement(
                    pathMTU: nil, localMTU: localMTU,
                    verdict: .noAnswer("ICMP type \(type) code \(code)\(from.map { " from \($0)" } ?? "")"),
                    probes: log.records, firstSilentSize: nil)
            default: silent = min(silent, floor)
            }
            if low != nil { break }
        }
        guard var good = low else {
            return PathMeasurement(
                pathMTU: nil, localMTU: localMTU,
                verdict: .noAnswer("no probe of any size was answered"), probes: log.records, firstSilentSize: nil)
        }
        // The expected size crossed: one byte more tells whether it is the edge.
        if let hint, good == hint, silent - good > 1 {
            switch send(hint + 1) {
            case .passed: good = hint + 1
            case .fragmentationNeeded(let from, let mtu): icmp = (from, mtu); silent = hint + 1
            default: silent = hint + 1
            }
        }
        while silent - good > 1 {
            let mid = (good + silent) / 2
            switch send(mid) {
            case .passed: good = mid
            case .fragmentationNeeded(let from, let mtu):
                icmp = (from, mtu)
                silent = mid
                if mtu > good && mtu < mid {
                    if case .passed = send(mtu) { good = mtu } else { silent = mtu }
                }
            default: silent = mid
            }
        }
        let verdict: PathMeasurement.Verdict = icmp.map { .icmp(from: $0.from, mtu: $0.mtu) } ?? .blackhole
        return PathMeasurement(pathMTU: good, localMTU: localMTU, verdict: verdict, probes: log.records, firstSilentSize: silent)
    }
}

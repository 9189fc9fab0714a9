import ConfigFormats
import NetSystem
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// One failure the watcher explained: the probe that failed, and the full trace it ran then.
public struct Incident: Sendable, Equatable {
    public var id: Int
    /// Seconds since the epoch.
    public var time: Double
    /// The node that probed (this one) and the peer it probed.
    public var sourceNode: String
    public var targetNode: String
    /// pod, node, dns or service.
    public var kind: String
    public var target: String
    /// The failed probe, in words ("ICMPv6 echo of 1430 bytes with DF: no answer").
    public var probe: String
    public var reachable: Bool
    public var verdict: String
    /// The trace's finding codes (errors first), and its whole JSON report.
    public var codes: [String]
    public var report: ConfigValue
    /// How many intervals in a row found it so (the same probe failing with the same codes), and
    /// when it was last found: a lasting failure is one incident, not one per interval.
    public var count = 1
    public var lastTime: Double = 0

    /// The probe's identity: its kind, peer and target.
    var key: String { "\(kind)|\(targetNode)|\(target)" }

    public var json: ConfigValue {
        .fields([
            ("id", .int(id)), ("time", .number(time, text: "\(time)")), ("sourceNode", .string(sourceNode)),
            ("targetNode", .string(targetNode)),
            ("kind", .string(kind)), ("target", .string(target)), ("probe", .string(probe)), ("reachable", .bool(reachable)),
            ("verdict", .string(verdict)), ("codes", .texts(codes)), ("count", .int(count)),
            ("lastTime", .number(max(lastTime, time), text: "\(max(lastTime, time))")), ("report", report),
        ])
    }

    public init(
        id: Int, time: Double, sourceNode: String, targetNode: String, kind: String, target: String, probe: String,
        reachable: Bool, verdict: String, codes: [String], report: ConfigValue
    ) {
        (self.id, self.time, self.sourceNode, self.targetNode, self.kind, self.target) = (id, time, sourceNode, targetNode, kind, target)
        (self.probe, self.reachable, self.verdict, self.codes, self.report) = (probe, reachable, verdict, codes, report)
    }

    public init?(json: ConfigValue) {
        guard let id = json["id"]?.int, let time = json["time"]?.double, let source = json["sourceNode"]?.string,
            let target = json["targetNode"]?.string, let kind = json["kind"]?.string
        else { return nil }
        self.init(
            id: id, time: time, sourceNode: source, targetNode: target, kind: kind, target: json["target"]?.string ?? "",
            probe: json["probe"]?.string ?? "", reachable: json["reachable"]?.bool ?? false, verdict: json["verdict"]?.string ?? "",
            codes: json["codes"]?.array?.compactMap(\.string) ?? [], report: json["report"] ?? .null)
        count = max(1, json["count"]?.int ?? 1)
        lastTime = json["lastTime"]?.double ?? time
    }
}

/// The last incidents, bounded (the oldest go first), kept in a file when the agent has a state
/// directory: a restarted agent still has them. Written whole to a temporary file and renamed,
/// so a crash mid-write never leaves half a file.
public final class IncidentLog: Sendable {
    public let limit: Int
    let path: String?
    private let state: Mutex<(incidents: [Incident], next: Int)>

    public init(limit: Int = 50, path: String? = nil) {
        self.limit = max(1, limit)
        self.path = path
        var loaded: [Incident] = []
        if let path, let bytes = KernelFile.bytes(path, limit: 16 << 20), let value = try? JSONParser.parse(bytes: bytes) {
            loaded = (value["incidents"]?.array ?? []).compactMap(Incident.init(json:)).suffix(self.limit).map { $0 }
        }
        state = Mutex((loaded, (loaded.map(\.id).max() ?? 0) + 1))
    }

    /// Adds one (its id assigned here) and returns it; the same probe failing again with the
    /// same codes as its latest incident counts there instead (its report the newest).
    @discardableResult
    public func add(_ incident: Incident) -> Incident {
        let (added, all) = state.withLock { state -> (Incident, [Incident]) in
            if let last = state.incidents.lastIndex(where: { $0.key == incident.key }), state.incidents[last].codes == incident.codes {
                state.incidents[last].count += 1
                state.incidents[last].lastTime = incident.time
                state.incidents[last].report = incident.report
                return (state.incidents[last], state.incidents)
            }
            var incident = incident
            incident.lastTime = incident.time
            incident.id = state.next
            state.next += 1
            state.incidents.append(incident)
            if state.incidents.count > limit { state.incidents.removeFirst(state.incidents.count - limit) }
            return (incident, state.incidents)
        }
        save(all)
        return added
    }

    /// Newest first; `node`: those about that node (as the prober or the probed).
    public func list(node: String? = nil) -> [Incident] {
        state.withLock { $0.incidents }.filter { node == nil || $0.sourceNode == node || $0.targetNode == node }.reversed()
    }

    func save(_ incidents: [Incident]) {
        guard let path else { return }
        let text = JSONWriter.write(.fields(["incidents": .array(incidents.map(\.json))])) + "\n"
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        if written == text.utf8.count { rename(temporary, path) } else { unlink(temporary) }
    }
}

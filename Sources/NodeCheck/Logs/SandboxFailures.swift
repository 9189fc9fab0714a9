import ConfigFormats

/// Sandbox network failures of one cause: how many, when, which pods.
public struct SandboxFailureGroup: Sendable, Equatable {
    public var cause: String
    public var count: Int
    public var first: Double?
    public var last: Double?
    /// The pods named, in the order first seen (at most `podLimit`).
    public var pods: [String]
    public var sources: [String]

    static let podLimit = 10
}

/// Where failures are read from, and the grouping of them. Pure over the bytes the readers
/// (NodeSession+Check) hand in: `journalctl -o json` lines, or a runtime's log file.
public enum SandboxFailures {
    /// `journalctl -o json` output: one object per line, every value a string, but MESSAGE may
    /// be null (too long without -a), an array of byte values (not valid UTF-8 or holding a
    /// control character), or an array of those (a repeated field). Lines that are not JSON are
    /// skipped.
    public static func fromJournal(_ bytes: [UInt8], since: Double) -> [SandboxFailure] {
        var failures: [SandboxFailure] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) where line.count < SandboxLog.lineLimit * 4 {
            guard let entry = try? JSONParser.parse(bytes: Array(line)) else { continue }
            let time = entry["__REALTIME_TIMESTAMP"]?.string.flatMap(Double.init).map { $0 / 1_000_000 }
            if let time, time < since { continue }
            let unit = entry["_SYSTEMD_UNIT"]?.string ?? entry["SYSLOG_IDENTIFIER"]?.string ?? "journal"
            for message in messages(entry["MESSAGE"]) {
                if let failure = SandboxLog.failure(in: message[...], time: time, source: "journal: \(Printable.line(unit))") {
                    failures.append(failure)
                }
            }
        }
        return failures
    }

    /// The last entry's __CURSOR: where the next read goes on from (journalctl --after-cursor).
    public static func lastCursor(_ bytes: [UInt8]) -> String? {
        for line in bytes.split(separator: UInt8(ascii: "\n")).reversed() where line.count < SandboxLog.lineLimit * 4 {
            if let cursor = (try? JSONParser.parse(bytes: Array(line)))?["__CURSOR"]?.string, !cursor.isEmpty { return cursor }
        }
        return nil
    }

    /// MESSAGE's text in each of the forms journalctl writes it.
    static func messages(_ value: ConfigValue?) -> [String] {
        switch value {
        case .string(let text)?: return [text]
        case .array(let items)?:
            if items.allSatisfy({ $0.int != nil }) {
                return [String(decoding: items.compactMap { $0.int.flatMap { UInt8(exactly: $0) } }, as: UTF8.self)]
            }
            return items.flatMap { messages($0) }
        default: return []
        }
    }

    /// A runtime's log file (containerd's logrus text, as k3s keeps it), its lines dated by
    /// their own `time="…"`; lines before `since` are left out.
    public static func fromLogFile(_ bytes: ArraySlice<UInt8>, source: String, since: Double) -> [SandboxFailure] {
        var failures: [SandboxFailure] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let text = String(decoding: line.prefix(SandboxLog.lineLimit), as: UTF8.self)
            guard let failure = SandboxLog.failure(in: text[...], time: nil, source: source) else { continue }
            if let time = failure.time, time < since { continue }
            failures.append(failure)
        }
        return failures
    }

    /// One group per cause, most frequent first; a sandbox logged by both the runtime and the
    /// kubelet counted once.
    public static func group(_ failures: [SandboxFailure]) -> [SandboxFailureGroup] {
        var groups: [String: SandboxFailureGroup] = [:]
        var order: [String] = []
        var seen = Set<String>()
        for failure in failures {
            // The same sandbox again (the kubelet's line for the runtime's): its source said, not counted.
            let again = failure.sandbox.map { !seen.insert("\($0)\u{0}\(failure.cause)").inserted } ?? false
            if groups[failure.cause] == nil {
                order.append(failure.cause)
                groups[failure.cause] = SandboxFailureGroup(cause: failure.cause, count: 0, first: nil, last: nil, pods: [], sources: [])
            }
            var group = groups[failure.cause]!
            if !again { group.count += 1 }
            if !again, let time = failure.time {
                group.first = min(group.first ?? time, time)
                group.last = max(group.last ?? time, time)
            }
            if let pod = failure.pod, !group.pods.contains(pod), group.pods.count < SandboxFailureGroup.podLimit { group.pods.append(pod) }
            if !group.sources.contains(failure.source) { group.sources.append(failure.source) }
            groups[failure.cause] = group
        }
        return order.compactMap { groups[$0] }.sorted { $0.count > $1.count }
    }
}

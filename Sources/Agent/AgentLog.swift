import ConfigFormats

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Structured logs: one JSON object per line on stderr, as log collectors (Fluent Bit, Loki's
/// promtail, `kubectl logs | jq`) read them.
public struct AgentLog: Sendable {
    var node: String

    public init(node: String) { self.node = node }

    public func info(_ event: String, _ fields: [(String, ConfigValue)] = []) { write("info", event, fields) }
    public func warning(_ event: String, _ fields: [(String, ConfigValue)] = []) { write("warning", event, fields) }
    public func error(_ event: String, _ fields: [(String, ConfigValue)] = []) { write("error", event, fields) }

    private func write(_ level: String, _ event: String, _ fields: [(String, ConfigValue)]) {
        var pairs: [(String, ConfigValue)] = [
            ("time", .string(Self.now())), ("level", .string(level)), ("node", .string(node)), ("event", .string(event)),
        ]
        pairs += fields
        let line = JSONWriter.bytes(.fields(pairs), pretty: false) + [10]
        line.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// RFC 3339 UTC with milliseconds.
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return timestamp(seconds: spec.tv_sec, milliseconds: Int(spec.tv_nsec / 1_000_000))
    }

    /// RFC 3339 UTC, to the second, or with milliseconds when given.
    public static func timestamp(seconds: Int, milliseconds: Int? = nil) -> String {
        RFC3339.format(seconds: seconds, milliseconds: milliseconds)
    }
}

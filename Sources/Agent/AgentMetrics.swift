import Synchronization

/// Request counts and durations, in Prometheus' text format (`GET /metrics`).
final class AgentMetrics: Sendable {
    static let buckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private struct Histogram {
        var counts = [UInt64](repeating: 0, count: AgentMetrics.buckets.count)
        var sum = 0.0
        var total: UInt64 = 0
    }

    private struct State {
        var requests: [String: UInt64] = [:]
        var durations: [String: Histogram] = [:]
        var rejected: [String: UInt64] = [:]
        /// Answers with an error status, by route and by whose fault: client (4xx) or server (5xx).
        var errors: [String: UInt64] = [:]
        var inFlight = 0
        var sessions = 0
    }

    private let state = Mutex(State())

    /// One answered request: `route` is the route's pattern, never the raw path (bounded labels).
    func record(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests["route=\"\(route)\",method=\"\(method)\",code=\"\(status)\"", default: 0] += 1
            if status >= 400 { state.errors["route=\"\(route)\",kind=\"\(status >= 500 ? "server" : "client")\"", default: 0] += 1 }
            var histogram = state.durations[route] ?? Histogram()
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { histogram.counts[i] += 1 }
            histogram.sum += seconds
            histogram.total += 1
            state.durations[route] = histogram
        }
    }

    func rejected(_ reason: String) { state.withLock { $0.rejected[reason, default: 0] += 1 } }

    /// Takes a slot for a request unless `limit` are already being worked on.
    func enter(limit: Int) -> Bool {
        state.withLock { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
    }

    func leave() { state.withLock { $0.inFlight -= 1 } }

    func setSessions(_ count: Int) { state.withLock { $0.sessions = count } }

    var text: String {
        state.withLock { state in
            var out = "# HELP netdoctor_agent_requests_total Requests answered, by route, method and status code.\n"
            out += "# TYPE netdoctor_agent_requests_total counter\n"
            for (labels, count) in state.requests.sorted(by: { $0.key < $1.key }) {
                out += "netdoctor_agent_requests_total{\(labels)} \(count)\n"
            }
            out += "# HELP netdoctor_agent_request_errors_total Requests answered with an error: client (4xx) or server (5xx).\n"
            out += "# TYPE netdoctor_agent_request_errors_total counter\n"
            for (labels, count) in state.errors.sorted(by: { $0.key < $1.key }) {
                out += "netdoctor_agent_request_errors_total{\(labels)} \(count)\n"
            }
            out += "# HELP netdoctor_agent_request_duration_seconds Time from a request's last byte to its answer.\n"
            out += "# TYPE netdoctor_agent_request_duration_seconds histogram\n"
            for (route, histogram) in state.durations.sorted(by: { $0.key < $1.key }) {
                for (i, bound) in Self.buckets.enumerated() {
                    out += "netdoctor_agent_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(histogram.counts[i])\n"
                }
                out += "netdoctor_agent_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(histogram.total)\n"
                out += "netdoctor_agent_request_duration_seconds_sum{route=\"\(route)\"} \(histogram.sum)\n"
                out += "netdoctor_agent_request_duration_seconds_count{route=\"\(route)\"} \(histogram.total)\n"
            }
            out += "# HELP netdoctor_agent_rejected_total Requests refused before any work: auth, size, limits.\n"
            out += "# TYPE netdoctor_agent_rejected_total counter\n"
            for (reason, count) in state.rejected.sorted(by: { $0.key < $1.key }) {
                out += "netdoctor_agent_rejected_total{reason=\"\(reason)\"} \(count)\n"
            }
            out += "# HELP netdoctor_agent_requests_in_flight Requests being worked on.\n# TYPE netdoctor_agent_requests_in_flight gauge\n"
            out += "netdoctor_agent_requests_in_flight \(state.inFlight)\n"
            out +=
                "# HELP netdoctor_agent_trace_sessions Trace sessions open (captures waiting for a probe).\n# TYPE netdoctor_agent_trace_sessions gauge\n"
            out += "netdoctor_agent_trace_sessions \(state.sessions)\n"
            return out
        }
    }
}

import ConfigFormats
import Dispatch
import NIOCore
import Synchronization

/// The agent's routes, its authentication and its limits. Deciding what a request may do is
/// cheap and happens where it arrives; the work itself runs on a worker thread
/// (`AgentEndpoints`), never on the event loop.
final class AgentAPI: Sendable {
    enum Endpoint: String, Sendable, CaseIterable {
        case health = "/healthz", ready = "/readyz", metrics = "/metrics", info = "/v1/info"
        case inspect = "/v1/inspect", route = "/v1/route", neighbors = "/v1/neighbors", fdb = "/v1/fdb", firewall = "/v1/firewall"
        case capture = "/v1/capture", mtuProbe = "/v1/mtu-probe"
        case tracePath = "/v1/trace/path", traceStart = "/v1/trace/sessions", traceFinish = "/v1/trace/sessions/{id}/finish"
        case traceAbandon = "/v1/trace/sessions/{id}"
        case incidents = "/v1/incidents"
        case check = "/v1/check"

        var method: String {
            switch self {
            case .capture, .mtuProbe, .tracePath, .traceStart, .traceFinish: "POST"
            case .traceAbandon: "DELETE"
            default: "GET"
            }
        }

        /// Kubelet probes carry no token: the health checks say nothing but "ok".
        var needsToken: Bool { self != .health && self != .ready }
    }

    let settings: AgentSettings
    let metrics = AgentMetrics()
    let log: AgentLog
    let sessions: TraceSessions
    let endpoints: AgentEndpoints
    /// Set once the listener is bound and the node's namespace answers netlink.
    let isReady = Atomic(false)
    /// Connections open now.
    let connections = Atomic(0)
    /// Connections that have not sent an authenticated request yet, oldest first.
    let unauthenticated = UnauthenticatedConnections()
    /// 401s are logged at most once a second.
    let unauthorizedLogGate = LogGate(everyNanoseconds: 1_000_000_000)

    init(settings: AgentSettings) {
        self.settings = settings
        log = AgentLog(node: settings.nodeName)
        sessions = TraceSessions(limit: settings.limits.maxTraceSessions)
        endpoints = AgentEndpoints(settings: settings, sessions: sessions)
    }

    /// Which endpoint serves this request, or why it is refused before any work.
    func admit(method: String, path: String, authorization: String?) -> Result<Endpoint, AgentFailure> {
        guard let endpoint = Self.endpoint(for: path) else { return .failure(AgentFailure(404, "no such endpoint: \(path)")) }
        guard method == endpoint.method || (method == "HEAD" && endpoint.method == "GET") else {
            return .failure(AgentFailure(405, "\(path) takes \(endpoint.method)", headers: [("Allow", endpoint.method)]))
        }
        if endpoint.needsToken, let refusal = checkToken(authorization) {
            metrics.rejected("unauthorized")
            return .failure(refusal)
        }
        return .success(endpoint)
    }

    static func endpoint(for path: String) -> Endpoint? {
        if let exact = Endpoint(rawValue: path), exact != .traceFinish, exact != .traceAbandon { return exact }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[1] == "v1", parts[2] == "trace", parts[3] == "sessions", !parts[4].isEmpty else { return nil }
        if parts.count == 5 { return .traceAbandon }
        return parts.count == 6 && parts[5] == "finish" ? .traceFinish : nil
    }

    /// nil when the bearer token matches; compared in constant time. The scheme is matched
    /// case-insensitively (RFC 9110 §11.1).
    func checkToken(_ authorization: String?) -> AgentFailure? {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return AgentFailure(
                401, "a bearer token is required (Authorization: Bearer TOKEN)",
                headers: [("WWW-Authenticate", "Bearer realm=\"netdoctor-agent\"")])
        }
        let given = Array(authorization.utf8.dropFirst(7))
        let expected = settings.token
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        guard difference == 0 else {
            return AgentFailure(
                401, "the bearer token is not valid",
                headers: [("WWW-Authenticate", "Bearer realm=\"netdoctor-agent\", error=\"invalid_token\"")])
        }
        return nil
    }

    /// Runs on a worker thread: the endpoint's work, as an answer (errors included).
    func perform(_ endpoint: Endpoint, _ request: AgentRequest) -> AgentResponse {
        do {
            switch endpoint {
            case .health: return .text("ok\n")
            case .ready: return isReady.load(ordering: .relaxed) ? .text("ready\n") : .text("not ready\n", status: 503)
            case .metrics:
                return .text(metrics.text + (settings.watch?.metricsText ?? ""), contentType: "text/plain; version=0.0.4; charset=utf-8")
            case .info: return .json(endpoints.info())
            case .incidents:
                guard let watch = settings.watch else {
                    throw AgentFailure(404, "this agent does not watch (agent --watch): it keeps no incidents")
                }
                return .json(watch.incidents(node: request.query["node"]))
            case .inspect: return try endpoints.inspect(request)
            case .check: return endpoints.check()
            case .route: return try endpoints.route(request)
            case .neighbors: return try endpoints.neighbors(request)
            case .fdb: return try endpoints.forwardingDatabase(request)
            case .firewall: return try endpoints.firewall(request)
            case .capture: return try endpoints.capture(request)
            case .mtuProbe: return try endpoints.mtuProbe(request)
            case .tracePath: return try endpoints.tracePath(request)
            case .traceStart:
                let response = try endpoints.traceStart(request)
                metrics.setSessions(sessions.count)
                return response
            case .traceFinish:
                let response = try endpoints.traceFinish(request, id: String(request.path.split(separator: "/")[3]))
                metrics.setSessions(sessions.count)
                return response
            case .traceAbandon:
                let response = try endpoints.traceAbandon(id: String(request.path.split(separator: "/")[3]))
                metrics.setSessions(sessions.count)
                return response
            }
        } catch let failure as AgentFailure {
            return .failure(failure)
        } catch {
            return .failure(AgentEndpoints.failure(for: error))
        }
    }
}

/// The connections that have not authenticated yet, in the order they came: the ones a flood of
/// slow or idle connections is made of, and so the ones closed first when room is needed; those
/// that never completed a request (slowloris) before those that asked only for /healthz.
final class UnauthenticatedConnections: Sendable {
    private let entries = Mutex<[(id: ObjectIdentifier, channel: any Channel, answered: Bool)]>([])

    var count: Int { entries.withLock { $0.count } }

    func add(_ channel: any Channel) { entries.withLock { $0.append((ObjectIdentifier(channel), channel, false)) } }

    func remove(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        entries.withLock { $0.removeAll { $0.id == id } }
    }

    /// The connection completed a request that needs no token (a probe).
    func answered(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        entries.withLock { entries in
            if let i = entries.firstIndex(where: { $0.id == id }) { entries[i].answered = true }
        }
    }

    /// Takes the oldest out, for the caller to close: one that never completed a request first.
    func evictOldest() -> (any Channel)? {
        entries.withLock { entries in
            guard let i = entries.firstIndex(where: { !$0.answered }) ?? entries.indices.first else { return nil }
            return entries.remove(at: i).channel
        }
    }
}

/// Lets one log line through per interval, and says how many it held back since the last.
final class LogGate: Sendable {
    private let state = Mutex<(last: UInt64, held: Int)>((0, 0))
    private let interval: UInt64

    init(everyNanoseconds interval: UInt64) { self.interval = interval }

    /// The number held back since the last line, when this one may go; nil when it may not.
    func pass() -> Int? {
        let now = DispatchTime.now().uptimeNanoseconds
        return state.withLock { state in
            guard state.last == 0 || now - state.last >= interval else { state.held += 1; return nil }
            defer { state = (now, 0) }
            return state.held
        }
    }
}

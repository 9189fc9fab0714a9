import Cilium
import Capture
import ConfigFormats
import Diagnosis
import Firewall
import KernelState
import NetAddress
import NetlinkCodec
import NetSystem
import PathFacts
import PathMTU
import Pods
import Session
import Synchronization
import Trace

/// The work behind each route: the same libraries the commands use, read-only, each call
/// bounded. Runs on worker threads; namespace work goes through the namespace threads.
final class AgentEndpoints: Sendable {
    let settings: AgentSettings
    let sessions: TraceSessions
    private let capturesRunning = Mutex(0)

    init(settings: AgentSettings, sessions: TraceSessions) {
        self.settings = settings
        self.sessions = sessions
    }

    func info() -> ConfigValue {
        let limits = settings.limits
        return .fields([
            "node": .string(settings.nodeName), "api": .string("v1"), "tls": .bool(settings.tlsCertificatePath != nil),
            "watching": .bool(settings.watch != nil), "probeTargets": probeTargets(),
            "limits": .fields([
                "maxBodyBytes": .int(limits.maxBodyBytes), "maxCaptureMilliseconds": .int(limits.maxCaptureMilliseconds),
                "maxCapturePackets": .int(limits.maxCapturePackets), "maxConcurrentCaptures": .int(limits.maxConcurrentCaptures),
                "maxTraceSessions": .int(limits.maxTraceSessions), "requestTimeoutSeconds": .int(Int(limits.requestTimeoutSeconds)),
            ]),
        ])
    }

    /// A pod of this node that peers' watchers may probe (the first by name that has a network
    /// namespace), with its address in each family: found without an API server on either side.
    func probeTargets() -> ConfigValue {
        let pods = settings.session(naming: nil).pods.pods.filter { $0.netnsPath != nil }.sorted { $0.fullName < $1.fullName }
        guard let pod = pods.first else { return .array([]) }
        return .array([
            .fields([
                "pod": .string(pod.fullName),
                "addresses": .texts([pod.primaryAddress(.ipv4), pod.primaryAddress(.ipv6)].compactMap { $0?.description }),
            ])
        ])
    }

    // MARK: reading state

    /// check: the whole node, as `netdoctor check` judges it here (no pod named: every one).
    func check() -> AgentResponse {
        .report(settings.session(naming: []).check())
    }

    func inspect(_ request: AgentRequest) throws -> AgentResponse {
        let target = request.query["target"] ?? "node"
        return .report(try settings.session(naming: [target]).inspect(target))
    }

    /// The route the kernel picks for DESTINATION (from SOURCE, arriving on INPUT) in TARGET.
    func route(_ request: AgentRequest) throws -> AgentResponse {
        guard let destination = IPAddress.parse(try request.parameter("destination")) else {
            throw AgentFailure(400, "destination is not an IP address")
        }
        let source = try request.query["source"].map { text throws(AgentFailure) -> IPAddress in
            guard let address = IPAddress.parse(text) else { throw AgentFailure(400, "source is not an IP address") }
            return address
        }
        let target = request.query["target"] ?? "node"
        let (label, handle, _) = try settings.session(naming: [target]).target(target)
        let state = try handle.state()
        var input: Int32? = nil
        if let name = request.query["input"] {
            guard let link = state.link(named: name) else { throw AgentFailure(404, "no interface \(name) in \(label)") }
            input = link.index
        }
        // "No route" is the kernel's answer; a lookup it could not answer is the agent's failure.
        let answer = handle.lookup(RouteQuery(destination: destination, source: source, inputIndex: input))
        if let why = answer.failure { throw AgentFailure(500, why) }
        var noRoute: String? = nil
        if case .noRoute(let why) = answer { noRoute = why }
        return .report(RouteLookupAnswer(target: label, destination: destination, route: answer.route, noRoute: noRoute, state: state))
    }

    func neighbors(_ request: AgentRequest) throws -> AgentResponse {
        let (label, state) = try read(request.query["target"] ?? "node")
        let address = try request.parameter("address", as: IPAddress.parse, what: "an IP address")
        let entries = state.neighbors.filter { $0.family != .bridge && (address == nil || $0.destination == address) }
        return .report(NeighborAnswer(table: .neighbors, target: label, entries: entries, state: state))
    }

    func forwardingDatabase(_ request: AgentRequest) throws -> AgentResponse {
        let (label, state) = try read(request.query["target"] ?? "node")
        let mac = try request.parameter("lladdr", as: LinkAddress.parse, what: "a link-layer address")
        let entries = state.forwardingDatabase.filter { mac == nil || $0.linkAddress == mac }
        return .report(NeighborAnswer(table: .forwarding, target: label, entries: entries, state: state))
    }

    func firewall(_ request: AgentRequest) throws -> AgentResponse {
        let target = request.query["target"] ?? "node"
        let (label, handle, _) = try settings.session(naming: [target]).target(target)
        guard let rules = FirewallReader.readEverything(in: handle.sockets) else {
            throw AgentFailure(500, "neither iptables-save nor nft could be run in \(label)")
        }
        return .report(FirewallAnswer(target: label, rules: rules))
    }

    // MARK: active work

    /// A bounded capture: summaries of what each point saw, and the kernel's counts.
    func capture(_ request: AgentRequest) throws -> AgentResponse {
        let body = try request.json()
        let limits = settings.limits
        guard let list = body["targets"]?.array, let targets = Optional(list.compactMap(\.string)), targets.count == list.count,
            !targets.isEmpty, targets.count <= 8
        else {
            throw AgentFailure(400, "targets: one to eight capture targets (POD, POD:IFACE, node:IFACE)")
        }
        let duration =
            try body.wholeNumber("durationMilliseconds", in: 1...limits.maxCaptureMilliseconds, limit: "this agent's limit") ?? 1000
        let count = try body.wholeNumber("count", in: 1...limits.maxCapturePackets, limit: "this agent's limit")
        let filter = try body.text("filter")
        if targets.contains(where: { $0.contains("\0") }) { throw AgentFailure(400, "a capture target holds a NUL byte") }
        guard takeCaptureSlot() else {
            throw AgentFailure(
                429, "\(limits.maxConcurrentCaptures) captures are already running on this node", headers: [("Retry-After", "1")])
        }
        defer { capturesRunning.withLock { $0 -= 1 } }
        let node = settings.session(naming: NodeSession.pods(namedByCaptureTargets: targets))
        let capture: OpenedCapture
        do {
            capture = try node.openCapture(targets, filter: filter, bufferBytes: 2 << 20)
        } catch let error as CaptureError {
            throw AgentFailure(error.kind == .permission ? 500 : 400, error.message)
        }
        let (points, session) = (capture.points, capture.session)
        var packets: [ConfigValue] = []
        let limit = count ?? limits.maxCapturePackets
        let outcome = CaptureRun(count: limit, durationSeconds: Double(duration) / 1000).run(session, shouldStop: { false }) { packet in
            let handle = session.handles[packet.point]
            packets.append(
                .fields([
                    "time": .string("\(packet.seconds).\(packet.nanoseconds)"), "point": .string(points[packet.point].name),
                    "summary": .string(PacketSummary.describe(packet.bytes, linkType: handle.linkType, length: packet.originalLength)),
                ]))
        }
        session.close()
        return .report(AgentCaptureAnswer(base: node.report(capture, outcome: outcome, file: nil), packetSummaries: packets))
    }

    private func takeCaptureSlot() -> Bool {
        capturesRunning.withLock { running in
            guard running < settings.limits.maxConcurrentCaptures else { return false }
            running += 1
            return true
        }
    }

    /// mtu-probe from a pod (or the node) of this node.
    func mtuProbe(_ request: AgentRequest) throws -> AgentResponse {
        let body = try request.json()
        guard let sourceName = body["source"]?.string, let destinationText = body["destination"]?.string else {
            throw AgentFailure(400, "source and destination are required")
        }
        let timeout = try body.wholeNumber("timeoutMilliseconds", in: 20...2000) ?? 300
        let prober = MTUProber(timeoutMilliseconds: Int32(timeout))
        let session = settings.session(naming: [sourceName, destinationText])
        return .report(try session.mtuProbe(source: sourceName, destination: destinationText, prober: prober, verbose: true))
    }

    // MARK: the remote half of a trace

    func tracePath(_ request: AgentRequest) throws -> AgentResponse {
        let trace = try traceRequest(request)
        let session = settings.session(naming: [trace.destinationAddress.description])
        let view = try RemoteHalfSession.path(trace, nodeName: settings.nodeName, node: session.node, pods: session.pods.pods)
        return .report(AgentAnswer(command: "trace-half", jsonFields: view.jsonFields, findings: view.findings))
    }

    func traceStart(_ request: AgentRequest) throws -> AgentResponse {
        let trace = try traceRequest(request)
        guard trace.windowMilliseconds > 0, trace.windowMilliseconds <= settings.limits.maxTraceWindowMilliseconds else {
            throw AgentFailure(400, "windowMilliseconds must be between 1 and \(settings.limits.maxTraceWindowMilliseconds)")
        }
        guard sessions.hasRoom else {
            throw AgentFailure(429, "\(sessions.limit) trace sessions are already open on this node", headers: [("Retry-After", "1")])
        }
        let node = settings.session(naming: [trace.destinationAddress.description])
        let session = try RemoteHalfSession(
            trace, nodeName: settings.nodeName, node: node.node, pods: node.pods.pods, cilium: CiliumDatapath.find(root: node.root))
        guard let id = sessions.add(session, windowMilliseconds: trace.windowMilliseconds) else {
            throw AgentFailure(429, "\(sessions.limit) trace sessions are already open on this node", headers: [("Retry-After", "1")])
        }
        return .report(
            AgentAnswer(command: "trace-start", jsonFields: [("session", .string(id)), ("view", session.view.json)]), status: 201)
    }

    func traceFinish(_ request: AgentRequest, id: String) throws -> AgentResponse {
        guard let signature = ProbeSignature(json: try request.json()) else {
            throw AgentFailure(400, "the body must describe the probe (protocol, source, destination)")
        }
        guard let session = sessions.take(id) else { throw AgentFailure(404, "no open trace session \(id) (finished, or past its window)") }
        let view = try session.finish(signature: signature)
        return .report(AgentAnswer(command: "trace-half", jsonFields: view.jsonFields, findings: view.findings))
    }

    /// The caller's probe never left (it failed before): the session's captures close now.
    func traceAbandon(id: String) throws -> AgentResponse {
        guard let session = sessions.take(id) else { throw AgentFailure(404, "no open trace session \(id) (finished, or past its window)") }
        session.abandon()
        return AgentResponse(status: 204, contentType: "application/json", body: [])
    }

    private func traceRequest(_ request: AgentRequest) throws -> RemoteTraceRequest {
        let body = try request.json()
        _ = try body.wholeNumber("windowMilliseconds", in: 0...settings.limits.maxTraceWindowMilliseconds)
        _ = try body.wholeNumber("port", in: 0...65535)
        guard let trace = RemoteTraceRequest(json: body) else {
            throw AgentFailure(400, "the body must name source, destination and nodeAddress as IP addresses")
        }
        return trace
    }

    // MARK: helpers

    private func read(_ target: String) throws -> (String, NamespaceState) {
        let (label, handle, _) = try settings.session(naming: [target]).target(target)
        return (label, try handle.state())
    }

    /// What a library's error means for the caller.
    static func failure(for error: any Error) -> AgentFailure {
        switch error {
        case let error as PodLookupError:
            switch error.kind {
            case .unknown: return AgentFailure(404, error.message)
            case .ambiguous: return AgentFailure(409, error.message)
            case .namespaceGone: return AgentFailure(410, error.message)
            case .namespaceMismatch: return AgentFailure(409, error.message)
            case .permissionDenied: return AgentFailure(500, error.message)
            }
        case let error as RemoteHalfError: return AgentFailure(422, error.description)
        case let error as SessionError: return AgentFailure(400, error.description)
        case let error as SystemError where error.isNotANamespace: return AgentFailure(422, "\(error)")
        case let error as SystemError where error.isGone: return AgentFailure(410, "\(error): the namespace went away")
        default: return AgentFailure(500, "\(error)")
        }
    }
}

extension AgentSettings {
    /// The node for one request: its pods (the runtime's, merged with libcni's cache) and
    /// namespaces read lazily, once.
    func session(naming: [String]?) -> NodeSession { NodeSession(root: root, runtimeEndpoint: runtimeEndpoint, podsNamed: naming) }

}

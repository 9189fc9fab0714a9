#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import ConfigFormats
import NodeFiles
import TestSupport
import Testing

/// The agent on loopback, unprivileged: who may call it, and what it does with requests that
/// are too big, malformed, too greedy or too many. It must answer each with the right status
/// and stay up.
@Suite("Agent: authentication, limits and bad requests", .serialized)
struct AgentSecurityTests {
    @Test("health and readiness need no token; everything else does: none and a wrong one get 401, the right one 200")
    func authentication() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        #expect(try RawHTTP.get(port: agent.port, "/healthz", token: nil).status == 200)
        #expect(try RawHTTP.get(port: agent.port, "/readyz", token: nil).status == 200)
        let none = try RawHTTP.get(port: agent.port, "/v1/info", token: nil)
        #expect(none.status == 401)
        #expect(none.head.lowercased().contains("www-authenticate: bearer realm=\"netdoctor-agent\""))
        let wrong = try RawHTTP.get(port: agent.port, "/v1/info", token: "not-the-token-at-all")
        #expect(wrong.status == 401)
        #expect(wrong.head.contains("invalid_token"))
        // A prefix of the right token is as wrong as any other.
        #expect(try RawHTTP.get(port: agent.port, "/v1/info", token: String(RunningAgent.token.dropLast())).status == 401)
        #expect(try RawHTTP.get(port: agent.port, "/metrics", token: nil).status == 401)
        let right = try RawHTTP.get(port: agent.port, "/v1/info")
        #expect(right.status == 200)
        #expect(try JSONParser.parse(right.body)["node"]?.string == "test-node")
        #expect(agent.isRunning)
    }

    @Test("oversized, malformed and over-limit requests: 413, 400, 404, 405, each with a JSON error; the agent stays up")
    func badRequests() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        let port = agent.port
        // Declared too large: refused before the body is read.
        let huge = try RawHTTP.exchange(
            port: port,
            "POST /v1/trace/path HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(RunningAgent.token)\r\nContent-Length: 10000000\r\n\r\n{")
        #expect(huge.status == 413)
        // Sent too large in chunks, with no length given.
        let chunk = String(repeating: "a", count: 70_000)
        let chunked = try RawHTTP.exchange(
            port: port,
            "POST /v1/trace/path HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(RunningAgent.token)\r\nTransfer-Encoding: chunked\r\n\r\n\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n0\r\n\r\n"
        )
        #expect(chunked.status == 413)
        let badJSON = try RawHTTP.post(port: port, "/v1/trace/path", body: "{\"source\": ")
        #expect(badJSON.status == 400)
        #expect(try JSONParser.parse(badJSON.body)["error"]?.string?.contains("malformed JSON") == true)
        #expect(try RawHTTP.post(port: port, "/v1/trace/path", body: "{\"source\": \"not-an-ip\"}").status == 400)
        #expect(
            try RawHTTP.post(
                port: port, "/v1/trace/sessions/0123/finish",
                body: "{\"protocol\": \"icmp\", \"source\": \"10.0.0.1\", \"destination\": \"10.0.0.2\"}"
            ).status == 404)
        // Not HTTP at all.
        let garbage = try RawHTTP.exchange(port: port, bytes: Array("\u{01}\u{02}GARBAGE \u{7f}\r\n\r\n".utf8))
        #expect(garbage.status == 400)
        #expect(try RawHTTP.get(port: port, "/v1/nothing-here").status == 404)
        let wrongMethod = try RawHTTP.get(port: port, "/v1/capture")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.head.contains("Allow: POST"))
        // A capture longer than the agent allows, or of too many packets.
        let long = try RawHTTP.post(port: port, "/v1/capture", body: "{\"targets\": [\"node:lo\"], \"durationMilliseconds\": 600000}")
        #expect(long.status == 400)
        #expect(try JSONParser.parse(long.body)["error"]?.string?.contains("limit") == true)
        #expect(try RawHTTP.post(port: port, "/v1/capture", body: "{\"targets\": [\"node:lo\"], \"count\": 100000000}").status == 400)
        #expect(try RawHTTP.post(port: port, "/v1/capture", body: "{\"targets\": []}").status == 400)
        // An unknown pod is the caller's mistake, named.
        let unknown = try RawHTTP.get(port: port, "/v1/inspect?target=no-such-pod")
        #expect(unknown.status == 404)
        #expect(try RawHTTP.get(port: port, "/v1/route?destination=banana").status == 400)
        #expect(agent.isRunning)
        #expect(try RawHTTP.get(port: port, "/healthz").status == 200)
    }

    @Test("200 requests at once: each answered 200 or 503 (never dropped), and the agent stays up")
    func manyConcurrent() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        let request =
            "GET /v1/inspect?target=node HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(RunningAgent.token)\r\nConnection: close\r\n\r\n"
        let answers = try RawHTTP.many(port: agent.port, count: 200, request)
        #expect(answers.count == 200)
        let statuses = Set(answers)
        #expect(statuses.isSubset(of: [200, 503]), "\(statuses)")
        #expect(answers.filter { $0 == 200 }.count >= 64)
        #expect(agent.isRunning)
        #expect(try RawHTTP.get(port: agent.port, "/v1/info").status == 200)
    }

    @Test("600 idle connections without a request: the oldest are closed to make room, so health probes and callers always get in")
    func connectionFlood() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for _ in 0..<600 { sockets.append(try RawHTTP.connected(port: agent.port, timeoutSeconds: 5)) }
        // Unauthenticated connections are held to 256: the agent closes the oldest as more come.
        var buffer = [UInt8](repeating: 0, count: 16)
        var closed = 0
        for _ in 0..<100 where closed < 344 {
            usleep(50_000)
            closed = sockets.filter { recv($0, &buffer, buffer.count, Int32(MSG_DONTWAIT)) == 0 }.count
        }
        #expect((340...350).contains(closed), "\(closed) closed")
        // With the flood still open, a probe and an authenticated call are served.
        #expect(try RawHTTP.get(port: agent.port, "/healthz").status == 200)
        #expect(try RawHTTP.get(port: agent.port, "/v1/info").status == 200)
        #expect(
            try RawHTTP.get(port: agent.port, "/metrics").body.contains(
                "netdoctor_agent_rejected_total{reason=\"evicted_unauthenticated\"}"))
        #expect(agent.isRunning)
    }

    @Test("metrics count requests by route and code, and refusals; every log line is JSON")
    func metricsAndLogs() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        _ = try RawHTTP.get(port: agent.port, "/v1/info")
        _ = try RawHTTP.get(port: agent.port, "/v1/info", token: "wrong-token-wrong-token")
        let metrics = try RawHTTP.get(port: agent.port, "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.head.contains("text/plain; version=0.0.4"))
        #expect(metrics.body.contains("netdoctor_agent_requests_total{route=\"/v1/info\",method=\"GET\",code=\"200\"} 1"))
        #expect(metrics.body.contains("netdoctor_agent_rejected_total{reason=\"unauthorized\"} 1"))
        #expect(metrics.body.contains("netdoctor_agent_request_errors_total{route=\"-\",kind=\"client\"} 1"))
        #expect(metrics.body.contains("netdoctor_agent_request_duration_seconds_bucket{route=\"/v1/info\",le=\"+Inf\"} 1"))
        #expect(agent.stop() == 0, "SIGTERM ends the agent cleanly")
        let lines = agent.log.split(separator: "\n")
        #expect(lines.count >= 4)
        for line in lines {
            let entry = try JSONParser.parse(String(line))
            #expect(entry["time"]?.string != nil && entry["level"]?.string != nil && entry["event"]?.string != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains("\"status\":401") })
    }

    @Test("bad start: no token file is exit 2 with one line; a port in use is exit 3")
    func badStart() throws {
        let noToken = try Binary.run(["agent", "--listen", "127.0.0.1:1"], timeout: 10_000)
        #expect(noToken.status == 2)
        #expect(noToken.errorText.contains("token file is required"))
        let tree = NodeTree().write("/token", "short\n")
        let short = try Binary.run(["agent", "--token-file", tree.path + "/token"], timeout: 10_000)
        #expect(short.status == 2)
        let agent = try RunningAgent()
        defer { agent.stop() }
        let taken = try Binary.run(
            ["agent", "--listen", "127.0.0.1:\(agent.port)", "--token-file", agent.tree.path + "/etc/netdoctor/token"], timeout: 10_000)
        #expect(taken.status == 3, "\(taken.errorText)")
        #expect(taken.errorText.contains("cannot listen"))
        #expect(taken.errorText.split(separator: "\n").count == 1)
    }
}

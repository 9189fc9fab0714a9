import ConfigFormats
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The agent under abuse (HOSTILE-INPUT 2, 6, 11, 12, 19, 20): it stays up, its probes answer,
/// callers with a token are served, and every bad request gets its status.
@Suite("Agent under abuse")
struct AgentAbuseTests {
    /// Raises this process's descriptor limit for floods of client sockets.
    static func allowDescriptors(_ count: rlim_t) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < count {
            limit.rlim_cur = min(count, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    @Test(
        "600 slowloris connections without a token: /healthz and an authenticated call keep answering; the slow ones are cut at the read deadline"
    )
    func slowloris() throws {
        Self.allowDescriptors(4096)
        let agent = try RunningAgent(extraArguments: ["--read-timeout", "2"])
        defer { agent.stop() }
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        let start = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n".utf8)
        for _ in 0..<600 {
            let fd = try RawHTTP.connected(port: agent.port, timeoutSeconds: 5)
            _ = start.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            sockets.append(fd)
        }
        var healthy = 0, served = 0
        for round in 0..<6 {
            for fd in sockets { _ = send(fd, "X", 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if (try? RawHTTP.get(port: agent.port, "/healthz", token: nil))?.status == 200 { healthy += 1 }
            if (try? RawHTTP.get(port: agent.port, "/v1/info"))?.status == 200 { served += 1 }
            if round < 5 { usleep(500_000) }
        }
        #expect(healthy == 6 && served == 6, "healthz \(healthy)/6, info \(served)/6")
        // Past the 2 s read deadline every trickling connection has been closed.
        usleep(500_000)
        var buffer = [UInt8](repeating: 0, count: 64)
        // Closed: end of stream, or a reset (the agent closed with bytes it had not read).
        let open = sockets.filter { recv($0, &buffer, buffer.count, Int32(MSG_DONTWAIT)) < 0 && errno == EAGAIN }.count
        #expect(open == 0, "\(open) slow connections still open")
        let metrics = try RawHTTP.get(port: agent.port, "/metrics").body
        #expect(metrics.contains("reason=\"read_timeout\""), "\(metrics.split(separator: "\n").filter { $0.contains("rejected") })")
        #expect(agent.isRunning)
    }

    @Test("2,000 connections at once: the probe and an authenticated call are answered, the agent stays up")
    func twoThousand() throws {
        Self.allowDescriptors(4096)
        let agent = try RunningAgent()
        defer { agent.stop() }
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for _ in 0..<2000 { if let fd = try? RawHTTP.connected(port: agent.port, timeoutSeconds: 5) { sockets.append(fd) } }
        #expect(sockets.count >= 1900)
        #expect(try RawHTTP.get(port: agent.port, "/healthz", token: nil).status == 200)
        #expect(try RawHTTP.get(port: agent.port, "/v1/info").status == 200)
        #expect(agent.isRunning)
    }

    @Test("a request that works longer than the idle timeout still gets its answer (HOSTILE-INPUT 11)")
    func longRequest() throws {
        let agent = try RunningAgent(extraArguments: ["--max-capture-seconds", "20"])
        defer { agent.stop() }
        let body = #"{"targets": ["node:lo"], "filter": "udp port 9", "durationMilliseconds": 16000}"#
        let request =
            "POST /v1/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(RunningAgent.token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        let answer = try RawHTTP.exchange(port: agent.port, bytes: Array(request.utf8), timeoutSeconds: 30)
        #expect(answer.status == 200, "\(answer.head)")
        #expect(try JSONParser.parse(answer.body)["ended"]?.string?.contains("16") == true, "\(answer.body)")
    }

    @Test(
        "out-of-range and wrong-type parameters are 400, never the default (HOSTILE-INPUT 19)",
        arguments: [
            #"{"targets": ["node:lo"], "durationMilliseconds": 1e20}"#, #"{"targets": ["node:lo"], "durationMilliseconds": "100"}"#,
            #"{"targets": ["node:lo"], "durationMilliseconds": 1.5}"#, #"{"targets": ["node:lo"], "count": 1e18}"#,
            #"{"targets": ["node:lo"], "filter": 5}"#, #"{"targets": ["node:lo\u0000evil"]}"#, #"{"targets": ["node:lo", 7]}"#,
        ])
    func badCaptureParameters(body: String) throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        #expect(try RawHTTP.post(port: agent.port, "/v1/capture", body: body).status == 400)
    }

    @Test("bad filters, windows and destinations are 400 too")
    func badParameters() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        #expect(try RawHTTP.get(port: agent.port, "/v1/neighbors?address=zz").status == 400)
        #expect(try RawHTTP.get(port: agent.port, "/v1/fdb?lladdr=zz:zz").status == 400)
        let trace = #"{"source": "10.0.0.1", "destination": "10.0.0.2", "nodeAddress": "127.0.0.1", "windowMilliseconds": WINDOW}"#
        for window in ["1e15", "\"10\""] {
            #expect(
                try RawHTTP.post(port: agent.port, "/v1/trace/sessions", body: trace.split(separator: "WINDOW").joined(separator: window))
                    .status == 400)
        }
        #expect(
            try RawHTTP.post(port: agent.port, "/v1/mtu-probe", body: #"{"source": "node", "destination": "255.255.255.255"}"#).status
                == 400)
    }

    @Test("the Bearer scheme in any case; a token that no client could send is refused at start; a loose token file is warned about")
    func tokens() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        let lower = try RawHTTP.exchange(
            port: agent.port, "GET /v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: bearer \(RunningAgent.token)\r\nConnection: close\r\n\r\n"
        )
        #expect(lower.status == 200)
        let tree = NodeTree()
        _ = tree.write("/bad", "abc\u{0}defghijklmnopqrstuvwxyz\n", mode: 0o600)
        let refused = try Binary.run(["agent", "--listen", "127.0.0.1:0", "--token-file", tree.path + "/bad"], timeout: 10_000)
        #expect(refused.status == 2)
        #expect(refused.errorText.split(separator: "\n").count == 1)
        // Relative to the working directory, and world-readable: starts, and says so in its log.
        let loose = try RunningAgent(extraArguments: [])
        defer { loose.stop() }
        chmod(loose.tree.path + "/etc/netdoctor/token", 0o644)
        var cwd = [CChar](repeating: 0, count: 4096)
        let depth = String(cString: getcwd(&cwd, cwd.count)).split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + String(loose.tree.path.dropFirst()) + "/etc/netdoctor/token"
        let again = try RunningAgent(extraArguments: ["--token-file", relative])
        defer { again.stop() }
        #expect(again.log.contains("readable by others"), "\(again.log)")
    }
}

extension AgentAbuseTests {
    @Test("/v1/route?destination=::1 answers the route ip -6 route get gives (REVIEW §6.2: IPv6 lookups failed under strict checking)")
    func ipv6Route() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        let answer = try RawHTTP.get(port: agent.port, "/v1/route?destination=::1")
        #expect(answer.status == 200, "\(answer.body)")
        let route = try JSONParser.parse(answer.body)["route"]
        #expect(route?.isNull == false, "\(answer.body)")
        let ip = ChildProcess.run("/usr/bin/ip", arguments: ["-6", "-j", "route", "get", "::1"], environment: [])?.outputText ?? ""
        #expect(ip.contains("\"dev\":\"lo\""), "\(ip)")
        #expect(answer.body.contains("\"lo\""), "\(answer.body)")
    }
}

extension AgentAbuseTests {
    @Test(
        "a cache entry whose netns is a FIFO on the agent's node (HOSTILE-INPUT 6): each request answers at once, the agent keeps serving")
    func fifoNamespace() throws {
        let agent = try RunningAgent()
        defer { agent.stop() }
        _ = ChildProcess.run("/usr/bin/mkfifo", arguments: [agent.tree.path + "/fifo"], environment: [])
        agent.tree.write(
            "/var/lib/cni/results/n-f-eth0",
            """
            {"kind":"cniCacheV1","containerId":"f","networkName":"n","ifName":"eth0","netns":"/fifo",
             "cniArgs":[["K8S_POD_NAMESPACE","default"],["K8S_POD_NAME","evil"]],"result":{"ips":[{"address":"10.66.0.2/24"}]}}
            """, mode: 0o600)
        for _ in 0..<12 {
            let answer = try RawHTTP.get(port: agent.port, "/v1/inspect?target=evil")
            #expect(answer.status == 422 || answer.status == 410, "\(answer.status) \(answer.body)")
        }
        #expect(try RawHTTP.get(port: agent.port, "/healthz", token: nil).status == 200)
        #expect(try RawHTTP.get(port: agent.port, "/v1/info").status == 200)
        #expect(agent.stop() == 0)
    }
}

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    @Suite("Privileged: cross-node traces with an agent on each lab node")
    struct AgentLabTests {
        static func subnet(_ topology: String) -> String { ["overlay": "10.244", "routed": "10.245", "calico": "10.246"][topology] ?? "?" }
        static func podC(_ topology: String) -> String { subnet(topology) + ".2.2" }
        static func podA(_ topology: String) -> String { subnet(topology) + ".1.2" }

        func up(_ topology: String) throws {
            let up = try Binary.run(["lab", "up", "--topology", topology, "--agents"], timeout: 120_000)
            try #require(up.status == 0, "lab up --agents: \(up.errorText)")
        }

        func trace(from node: String = "node1", _ arguments: [String]) throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor", "trace"] + arguments + ["-o", "json"], timeout: 60_000)
            #expect(result.errorText.isEmpty, "\(arguments): \(result.errorText)")
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func findings(_ json: ConfigValue, severity: String? = nil) -> [(code: String, hop: String)] {
            (json["findings"]?.array ?? []).compactMap { finding in
                guard severity == nil || finding["severity"]?.string == severity, let code = finding["code"]?.string else { return nil }
                return (code, finding["hop"]?.string ?? "")
            }
        }

        @Test(
            "healthy cross-node path, both ways: every hop of both nodes sees request and reply",
            arguments: ["overlay", "routed", "calico"])
        func healthy(topology: String) throws {
            try Privilege.require()
            try up(topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            for (node, source, destination, remote) in [
                ("node1", "pod-a", Self.podC(topology), "node2"), ("node2", "pod-c", Self.podA(topology), "node1"),
            ] {
                let (status, json) = try trace(from: node, [source, destination])
                #expect(status == 0, "\(topology) \(node)")
                #expect(json["reachable"]?.bool == true)
                #expect(findings(json).isEmpty, "\(topology) \(node): \(findings(json))")
                let hops = json["hops"]?.array ?? []
                let names = hops.compactMap { $0["name"]?.string }
                // This node's source, host side, its way out; the remote node's way in, host side, the pod.
                #expect(names.contains { $0.hasPrefix("\(remote):eth0") }, "\(names)")
                #expect(names.contains { $0.hasPrefix("\(remote):veth") || $0.hasPrefix("\(remote):cali") }, "\(names)")
                #expect(names.last?.hasSuffix(":eth0") == true && !(names.last?.hasPrefix(remote) ?? true), "\(names)")
                #expect(hops.count >= (topology == "overlay" ? 10 : 6), "\(names)")
                for hop in hops {
                    #expect(
                        hop["requestSeen"]?.bool == true && hop["replySeen"]?.bool == true,
                        "\(topology) \(node): \(hop["name"]?.string ?? "?")")
                }
            }
        }

        struct Case: Sendable, CustomTestStringConvertible {
            var fault: String
            var topology: String
            var code: String
            /// The hop the finding names (a prefix: veth names are random).
            var hop: String
            var companions: Set<String> = []
            var testDescription: String { "\(topology) \(fault) on node2" }
        }

        static let cases: [Case] = ["overlay", "routed"].flatMap { topology in
            [
                Case(fault: "FIREWALL_DROP", topology: topology, code: "FIREWALL_DROP", hop: "node2"),
                // The bridge, or the ptp route through the veth, follows the veth down.
                Case(fault: "LINK_DOWN", topology: topology, code: "LINK_DOWN", hop: "node2:veth", companions: ["NO_ROUTE"]),
                // The route back: the request reaches pod-c, its reply has nowhere to go.
                Case(fault: "NO_ROUTE", topology: topology, code: "NO_ROUTE", hop: "pod-c:eth0", companions: ["REPLY_MISSING"]),
                Case(fault: "IP_FORWARD_DISABLED", topology: topology, code: "IP_FORWARD_DISABLED", hop: "node2"),
            ]
        }

        @Test("a fault on node2 is named at node2's hop by its agent, instead of LOST_BEYOND_NODE", arguments: cases)
        func remoteFault(_ c: Case) throws {
            try Privilege.require()
            try up(c.topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let broke = try Binary.run(["lab", "break", c.fault, "--node", "node2"])
            try #require(broke.status == 0, "\(broke.errorText)")
            let (status, json) = try trace(["pod-a", Self.podC(c.topology), "--timeout", "500"])
            #expect(status == 1)
            #expect(json["reachable"]?.bool == false)
            let errors = findings(json, severity: "error")
            #expect(errors.contains { $0.code == c.code && $0.hop.hasPrefix(c.hop) }, "\(c): \(errors)")
            #expect(Set(errors.map(\.code)).subtracting([c.code]).isSubset(of: c.companions), "\(c): \(errors)")
            #expect(!findings(json).contains { $0.code == "LOST_BEYOND_NODE" || $0.code == "AGENT_UNREACHABLE" }, "\(c): \(findings(json))")
        }

        @Test(
            "pod-c's MTU above the path on node2: mtu-probe and trace name it at pod-c, from node2's agent's report",
            arguments: ["overlay", "routed"])
        func remoteMTU(topology: String) throws {
            try Privilege.require()
            try up(topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "MTU_MISMATCH", "--node", "node2"])
            let probe = try Binary.run(
                ["lab", "exec", "node1", "--", "netdoctor", "mtu-probe", "pod-a", Self.podC(topology), "-o", "json"], timeout: 60_000)
            #expect(probe.status == 1, "\(probe.errorText)")
            let json = try JSONParser.parse(bytes: probe.output)
            #expect(findings(json, severity: "error").map(\.code) == ["MTU_MISMATCH"])
            #expect(findings(json, severity: "error").first?.hop == "pod-c:eth0")
            let interfaces = json["paths"]?.array?.first?["interfaces"]?.array ?? []
            #expect(
                interfaces.contains { $0["role"]?.string == "destination" && $0["mtu"]?.int == 9000 && $0["namespace"]?.string == "pod-c" })
            let (status, trace) = try trace(["pod-a", Self.podC(topology)])
            #expect(status == 1)
            #expect(trace["reachable"]?.bool == true)
            #expect(findings(trace, severity: "error").map(\.code) == ["MTU_MISMATCH"])
            #expect(findings(trace, severity: "error").first?.hop == "pod-c:eth0")
        }

        @Test("node2's agent stopped mid-trace: the trace ends on time with this node's view, and says so; a trace after finds no agent")
        func agentStopsMidTrace() throws {
            try Privilege.require()
            try up("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "FIREWALL_DROP", "--node", "node2"])
            let status = try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)
            let agentPID = try #require(status["agents"]?.array?.first { $0["node"]?.string == "node2" }?["pid"]?.int)
            let tree = NodeTree()
            let output = tree.path + "/trace.json"
            let started = Clock.now()
            let tracer = try #require(
                ChildProcess.spawnDetached(
                    Binary.path,
                    arguments: [
                        "lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", "10.244.2.2",
                        "--timeout", "3000", "-o", "json",
                    ],
                    environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], log: output))
            usleep(1_200_000)  // the session is open on node2, the probe is out
            kill(pid_t(agentPID), SIGKILL)
            var exit: Int32 = 0
            waitpid(tracer, &exit, 0)
            let seconds = Clock.now() - started
            #expect((exit >> 8) & 0xff == 1)
            #expect(seconds < 6, "the trace took \(seconds) s")
            let json = try JSONParser.parse(bytes: try NodeRoot("/").read(output))
            let all = findings(json)
            #expect(all.contains { $0.code == "AGENT_UNREACHABLE" }, "\(all)")
            #expect(findings(json, severity: "warning").contains { $0.code == "AGENT_UNREACHABLE" })
            #expect(all.contains { $0.code == "LOST_BEYOND_NODE" }, "\(all)")
            // No agent at all now: asked, refused, said.
            let (afterStatus, after) = try trace(["pod-a", "10.244.2.2", "--timeout", "300"])
            #expect(afterStatus == 1)
            #expect(findings(after, severity: "warning").contains { $0.code == "AGENT_UNREACHABLE" })
            #expect(findings(after).contains { $0.code == "LOST_BEYOND_NODE" })
        }

        /// A request to node1's agent from inside node1's namespace, as another node would send it.
        func ask(_ path: String, body: String? = nil) throws -> ConfigValue {
            let token = try sh(["cat", "/var/lib/netdoctor-lab/agent-token"]).split(separator: "\n")[0]
            var arguments = [
                "ip", "netns", "exec", "ndlab-node1", "curl", "-sS", "--max-time", "10", "-H", "Authorization: Bearer \(token)",
            ]
            if let body { arguments += ["-H", "Content-Type: application/json", "--data", body] }
            return try JSONParser.parse(try sh(arguments + ["http://192.168.77.1:9449" + path]))
        }

        @Test("every endpoint on a lab node's agent: inspect, route, neighbour and FDB lookups, firewall counters, an MTU probe, a capture")
        func endpoints() throws {
            try Privilege.require()
            try up("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let inspect = try ask("/v1/inspect?target=pod-a")
            #expect(inspect["command"]?.string == "inspect")
            #expect(inspect["interfaces"]?.array?.contains { $0["name"]?.string == "eth0" } == true)
            #expect(try ask("/v1/route?destination=10.244.2.2")["route"]?["device"]?.string == "flannel.1")
            #expect(try ask("/v1/route?destination=10.244.1.1&target=pod-a")["route"]?["device"]?.string == "eth0")
            let neighbor = try ask("/v1/neighbors?address=10.244.2.0")["neighbors"]?.array?.first
            #expect(neighbor?["device"]?.string == "flannel.1")
            #expect(neighbor?["lladdr"]?.string != nil)
            #expect(
                try ask("/v1/fdb")["fdb"]?.array?.contains { $0["dst"]?.string == "192.168.77.2" && $0["device"]?.string == "flannel.1" }
                    == true)
            // The bridge plugin's ipMasq rules, with their counters.
            let rules = try ask("/v1/firewall")["rules"]?.array ?? []
            #expect(
                rules.contains {
                    $0["table"]?.string == "nat" && $0["rule"]?.string?.contains("MASQUERADE") == true && $0["packets"]?.int != nil
                })
            let probe = try ask("/v1/mtu-probe", body: "{\"source\": \"pod-a\", \"destination\": \"10.244.2.2\"}")
            #expect(probe["paths"]?.array?.first?["pathMTU"]?.int == 1450)
            // A capture while pod-a pings pod-b.
            let pinger = try #require(
                ChildProcess.spawnDetached(
                    Binary.path, arguments: ["lab", "exec", "pod-a", "--", "ping", "-c", "8", "-i", "0.2", "10.244.1.3"],
                    environment: ["PATH=/usr/bin:/bin"]))
            let capture = try ask("/v1/capture", body: "{\"targets\": [\"pod-a\"], \"filter\": \"icmp\", \"durationMilliseconds\": 1200}")
            var exit: Int32 = 0
            waitpid(pinger, &exit, 0)
            #expect((capture["packets"]?.int ?? 0) >= 2, "\(capture)")
            #expect(capture["packetSummaries"]?.array?.first?["point"]?.string == "pod-a:eth0")
            let metrics = try sh([
                "ip", "netns", "exec", "ndlab-node1", "curl", "-sS", "-H",
                "Authorization: Bearer \(try sh(["cat", "/var/lib/netdoctor-lab/agent-token"]).split(separator: "\n")[0])",
                "http://192.168.77.1:9449/metrics",
            ])
            #expect(metrics.contains("netdoctor_agent_requests_total{route=\"/v1/capture\",method=\"POST\",code=\"200\"} 1"))
            // A session opened and abandoned (the caller's probe never left): gone at once.
            let opened = try ask(
                "/v1/trace/sessions",
                body:
                    "{\"source\": \"10.244.2.2\", \"destination\": \"10.244.1.2\", \"nodeAddress\": \"192.168.77.1\", \"encapsulated\": true, \"windowMilliseconds\": 5000}"
            )
            let session = try #require(opened["session"]?.string)
            #expect(opened["view"]?["hops"]?.array?.last?["name"]?.string == "pod-a:eth0")
            let token = try sh(["cat", "/var/lib/netdoctor-lab/agent-token"]).split(separator: "\n")[0]
            let deleted = try sh([
                "ip", "netns", "exec", "ndlab-node1", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                "-H", "Authorization: Bearer \(token)", "http://192.168.77.1:9449/v1/trace/sessions/\(session)",
            ])
            #expect(deleted == "204")
            let finish = try ask(
                "/v1/trace/sessions/\(session)/finish",
                body: "{\"protocol\": \"icmp\", \"source\": \"10.244.2.2\", \"destination\": \"10.244.1.2\"}")
            #expect(finish["status"]?.int == 404)
        }

        @Test("--agent names the agent; a wrong one is AGENT_UNREACHABLE with the local verdict; --no-agent asks none")
        func agentOption() throws {
            try Privilege.require()
            try up("routed")
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "FIREWALL_DROP", "--node", "node2"])
            let named = try trace(["pod-a", Self.podC("routed"), "--timeout", "300", "--agent", "192.168.77.2:9449"])
            #expect(findings(named.json, severity: "error").map(\.code) == ["FIREWALL_DROP"])
            let wrong = try trace(["pod-a", Self.podC("routed"), "--timeout", "300", "--agent", "192.168.77.2:9"])
            #expect(findings(wrong.json, severity: "warning").contains { $0.code == "AGENT_UNREACHABLE" })
            #expect(findings(wrong.json).contains { $0.code == "LOST_BEYOND_NODE" })
            let none = try trace(["pod-a", Self.podC("routed"), "--timeout", "300", "--no-agent"])
            #expect(!findings(none.json).contains { $0.code == "AGENT_UNREACHABLE" })
            #expect(findings(none.json).contains { $0.code == "LOST_BEYOND_NODE" })
        }

        @Test("captures: the agent runs at most its limit at once (429 for more), each bounded in time, and keeps serving")
        func captureLimit() throws {
            try Privilege.require()
            let agent = try RunningAgent()
            defer { agent.stop() }
            let body = "{\"targets\": [\"node:lo\"], \"durationMilliseconds\": 1500, \"filter\": \"icmp\"}"
            let request =
                "POST /v1/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(RunningAgent.token)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            let started = Clock.now()
            let statuses = try RawHTTP.many(port: agent.port, count: 3, request)
            #expect(statuses.sorted() == [200, 200, 429], "\(statuses)")
            #expect(Clock.now() - started < 4)
            let capture = try RawHTTP.post(
                port: agent.port, "/v1/capture", body: "{\"targets\": [\"node:lo\"], \"durationMilliseconds\": 200}")
            #expect(capture.status == 200)
            let json = try JSONParser.parse(capture.body)
            #expect(json["points"]?.array?.first?["name"]?.string == "node:lo")
            let badFilter = try RawHTTP.post(
                port: agent.port, "/v1/capture", body: "{\"targets\": [\"node:lo\"], \"filter\": \"not a filter ((\"}")
            #expect(badFilter.status == 400)
            #expect(agent.isRunning)
        }
    }
}

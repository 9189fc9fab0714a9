import ConfigFormats
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension PrivilegedSuite {
    /// The cilium topology: pods wired as Cilium wires them with the lab's stand-in of its
    /// datapath keeping Cilium's maps in 1.15's and 1.18's layouts, agents on both nodes, both
    /// families. Healthy, netdoctor finds nothing wrong; each fault is found where the datapath
    /// counts it, in Cilium's words, on the same node and across nodes.
    @Suite("Privileged: Cilium's datapath (the cilium topology's stand-in), both layouts, both families")
    struct CiliumLabTests {
        static let releases = ["1.15", "1.18"]

        func up(_ release: String) throws {
            let up = try Binary.run(
                ["lab", "up", "--topology", "cilium", "--family", "dual", "--agents", "--cilium-release", release], timeout: 120_000)
            try #require(up.status == 0, "lab up (\(release)): \(up.errorText)")
        }

        func breakLab(_ fault: String) throws {
            let broken = try Binary.run(["lab", "break", fault])
            try #require(broken.status == 0, "\(fault): \(broken.errorText)")
        }

        func run(_ arguments: [String]) throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor"] + arguments + ["-o", "json"], timeout: 60_000)
            #expect(result.errorText.isEmpty, "\(arguments): \(result.errorText)")
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        /// Findings of at least `severity` ("warning": warnings and errors), as code@hop.
        func findings(_ json: ConfigValue, atLeast severity: String = "error") -> [(code: String, hop: String, message: String)] {
            let wanted = severity == "warning" ? ["warning", "error"] : [severity]
            return (json["findings"]?.array ?? []).compactMap { finding in
                guard let level = finding["severity"]?.string, wanted.contains(level), let code = finding["code"]?.string else {
                    return nil
                }
                return (code, finding["hop"]?.string ?? "", finding["message"]?.string ?? "")
            }
        }

        /// The lab's pod-c address in a family, from lab status.
        func podC(_ family: String) throws -> String {
            let status = try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)
            let pod = (status["pods"]?.array ?? []).first { $0["name"]?.string == "pod-c" }
            let addresses = (pod?["address"]?.string ?? "").split(separator: " ").map(String.init)
            return try #require(addresses.first { $0.contains(":") == (family == "6") }, "pod-c's IPv\(family) address: \(addresses)")
        }

        /// Same node (pod-a → pod-b) and across nodes (pod-a → pod-c, whose agent is asked).
        func traces(_ family: String, _ extra: [String] = []) throws -> (same: ConfigValue, across: ConfigValue) {
            let same = try run(["trace", "pod-a", "pod-b", "--family", family, "--timeout", "500"] + extra)
            let across = try run(["trace", "pod-a", try podC(family), "--timeout", "500"] + extra)
            return (same.json, across.json)
        }

        @Test("healthy: traces reach in both families across nodes through cilium_vxlan; inspect, policy and services find nothing wrong")
        func healthy() throws {
            try Privilege.require()
            for release in Self.releases {
                try up(release)
                defer { _ = try? Binary.run(["lab", "down"]) }
                for family in ["4", "6"] {
                    let (same, across) = try traces(family)
                    #expect(same["reachable"]?.bool == true, "\(release) IPv\(family): \(findings(same, atLeast: "warning"))")
                    #expect(across["reachable"]?.bool == true, "\(release) IPv\(family): \(findings(across, atLeast: "warning"))")
                    #expect(findings(same, atLeast: "warning").isEmpty, "\(release) IPv\(family): \(findings(same, atLeast: "warning"))")
                    #expect(
                        findings(across, atLeast: "warning").isEmpty, "\(release) IPv\(family): \(findings(across, atLeast: "warning"))")
                    let hops = (across["hops"]?.array ?? []).compactMap { $0["name"]?.string }
                    #expect(hops.contains("node:cilium_vxlan") && hops.contains("node2:cilium_vxlan"), "\(release): \(hops)")
                    let source = (across["hops"]?.array ?? []).first { $0["role"]?.string == "host side" }
                    let programs = (source?["programs"]?.array ?? []).compactMap { $0["name"]?.string }
                    #expect(programs.contains("cil_from_container"), "\(release): \(programs)")
                }
                for command in [["inspect", "pod-a"], ["policy", "pod-a"], ["detect-cni"]] {
                    let (status, json) = try run(command)
                    #expect(status == 0, "\(release) \(command): \(findings(json, atLeast: "warning"))")
                }
                let policy = try run(["policy", "pod-a"]).json
                let map = policy["cilium"]?["map"]?.string ?? ""
                #expect(map == (release == "1.18" ? "cilium_policy_v2_00100" : "cilium_policy_00100"), "\(release): \(map)")
                // The lab's Services: default/empty has no endpoints and default/local none on
                // node1, by design; nothing else is said.
                let services = try run(["services"]).json
                #expect(services["mode"]?.string == "cilium")
                let said = Set(findings(services, atLeast: "warning").map(\.code))
                #expect(said == ["SERVICE_NO_ENDPOINTS", "SERVICE_NO_LOCAL_ENDPOINTS"], "\(release): \(said)")
                let web = try run(["trace", "pod-a", "10.96.0.80", "--port", "80", "--timeout", "500"])
                #expect(web.status == 0, "\(release): \(findings(web.json, atLeast: "warning"))")
            }
        }

        @Test(
            "policy denies, default and explicit: POLICY_DENIED in Cilium's words where the destination's veth counts it, this node's and node2's",
            arguments: [
                ("CILIUM_POLICY_DENIED", "Policy denied (ingress)"), ("CILIUM_POLICY_DENIED_EXPLICIT", "Policy denied by denylist"),
            ])
        func policyDenied(fault: String, words: String) throws {
            try Privilege.require()
            for release in Self.releases {
                try up(release)
                defer { _ = try? Binary.run(["lab", "down"]) }
                try breakLab(fault)
                for family in ["4", "6"] {
                    let (same, across) = try traces(family)
                    let here = findings(same).filter { $0.code == "POLICY_DENIED" }
                    #expect(here.count == 1 && here.first?.message.contains(words) == true, "\(release) IPv\(family): \(findings(same))")
                    #expect(here.first?.hop.hasPrefix("node:lxc") == true)
                    let there = findings(across).filter { $0.code == "POLICY_DENIED" }
                    #expect(
                        there.count == 1 && there.first?.message.contains(words) == true, "\(release) IPv\(family): \(findings(across))")
                    #expect(there.first?.hop.hasPrefix("node2:lxc") == true, "\(release): \(there)")
                }
            }
        }

        @Test(
            "where Hubble answers on the node, its flow comes first: the policy it names, said as Hubble's; a Hubble that stalls is one line"
        )
        func hubble() throws {
            try Privilege.require()
            try up("1.18")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab("CILIUM_POLICY_DENIED")
            let status = try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)
            let address = { (name: String) -> String in
                let pod = (status["pods"]?.array ?? []).first { $0["name"]?.string == name }
                return String((pod?["address"]?.string ?? "").split(separator: " ").first ?? "")
            }
            // What Hubble on node1 would say of the drop (hubble observe -o jsonpb), served by the
            // lab's stand-in Observer at the socket Cilium serves it on, under node1's root.
            let tree = NodeTree()
            tree.write(
                "/flows.jsonpb",
                #"{"flow":{"verdict":"DROPPED","drop_reason":133,"IP":{"source":"\#(address("pod-a"))","destination":"\#(address("pod-b"))","ipVersion":"IPv4"},"traffic_direction":"INGRESS","drop_reason_desc":"POLICY_DENIED","ingress_denied_by":[{"name":"allow-8080","namespace":"default","kind":"NetworkPolicy"}],"node_name":"node1"},"node_name":"node1"}"#
                    + "\n")
            let socket = "/var/lib/netdoctor-lab/node1/var/run/cilium/hubble.sock"
            _ = try sh(["mkdir", "-p", "/var/lib/netdoctor-lab/node1/var/run/cilium"])
            for delay in ["0", "10000"] {
                let server = try #require(
                    ChildProcess.spawnDetached(
                        Binary.path,
                        arguments: [
                            "lab", "serve", "--hubble", socket, "--hubble-flows", tree.path + "/flows.jsonpb", "--hubble-delay", delay,
                        ],
                        environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]))
                defer {
                    kill(server, SIGKILL)
                    var exit: Int32 = 0
                    waitpid(server, &exit, 0)
                    unlink(socket)
                }
                for _ in 0..<300 where NodeRoot("/").status(socket) == nil { usleep(10_000) }
                let traced = try run(["trace", "pod-a", "pod-b", "--family", "4", "--timeout", "500"]).json
                let drop = findings(traced).first { $0.code == "POLICY_DENIED" }
                if delay == "0" {
                    #expect(drop?.message.contains("Hubble names NetworkPolicy default/allow-8080") == true, "\(findings(traced))")
                } else {
                    // The counters still say it; Hubble's silence is a line of evidence, in bounded time.
                    #expect(drop?.message.contains("Policy denied") == true, "\(findings(traced))")
                    let evidence = (traced["findings"]?.array ?? []).flatMap { $0["evidence"]?.array?.compactMap(\.string) ?? [] }
                    #expect(evidence.contains { $0.hasPrefix("Hubble not asked") && $0.contains("did not answer within") }, "\(evidence)")
                }
            }
        }

        @Test(
            "an endpoint without cil_from_container, and endpoints without their policy program: CILIUM_ENDPOINT_NOT_READY and Missed tail call"
        )
        func endpointPrograms() throws {
            try Privilege.require()
            for release in Self.releases {
                try up(release)
                try breakLab("CILIUM_ENDPOINT_NO_PROGRAM")
                for family in ["4", "6"] {
                    let (same, across) = try traces(family)
                    for json in [same, across] {
                        #expect(
                            findings(json).contains { $0.code == "CILIUM_ENDPOINT_NOT_READY" && $0.message.contains("cil_from_container") },
                            "\(release) IPv\(family): \(findings(json))")
                    }
                }
                _ = try Binary.run(["lab", "down"])
                try up(release)
                defer { _ = try? Binary.run(["lab", "down"]) }
                try breakLab("CILIUM_POLICY_PROGRAM_MISSING")
                for family in ["4", "6"] {
                    let (same, across) = try traces(family)
                    let codes = findings(same).map(\.code)
                    #expect(
                        codes.contains("CILIUM_ENDPOINT_NOT_READY") && codes.contains("CILIUM_DROP"), "\(release) IPv\(family): \(codes)")
                    #expect(findings(same).contains { $0.message.contains("Missed tail call") })
                    #expect(
                        findings(across).contains {
                            $0.code == "CILIUM_DROP" && $0.hop.hasPrefix("node2:") && $0.message.contains("Missed tail call")
                        })
                }
            }
        }

        @Test("a stale ipcache identity, a missing tunnel endpoint, a Service without backends: each said as the datapath has it")
        func mapsOutOfStep() throws {
            try Privilege.require()
            for release in Self.releases {
                try up(release)
                try breakLab("CILIUM_IDENTITY_STALE")
                for family in ["4", "6"] {
                    let same = try run(["trace", "pod-a", "pod-b", "--family", family, "--timeout", "500"]).json
                    #expect(findings(same).contains { $0.code == "CILIUM_ENDPOINT_NOT_READY" && $0.message.contains("identity 10099") })
                    #expect(findings(same).contains { $0.code == "POLICY_DENIED" && $0.message.contains("Policy denied") })
                }
                _ = try Binary.run(["lab", "down"])
                try up(release)
                try breakLab("CILIUM_TUNNEL_ENDPOINT_MISSING")
                for family in ["4", "6"] {
                    let across = try run(["trace", "pod-a", try podC(family), "--timeout", "500"]).json
                    let drop = findings(across).first { $0.code == "CILIUM_DROP" }
                    #expect(drop?.message.contains("No tunnel/encapsulation endpoint") == true, "\(release): \(findings(across))")
                    #expect(drop?.hop.hasPrefix("node:lxc") == true)
                }
                _ = try Binary.run(["lab", "down"])
                try up(release)
                defer { _ = try? Binary.run(["lab", "down"]) }
                try breakLab("CILIUM_SERVICE_NO_BACKENDS")
                for address in ["10.96.0.80", "fd00:96::80"] {
                    let web = try run(["trace", "pod-a", address, "--port", "80", "--timeout", "500"])
                    #expect(web.status == 1)
                    #expect(
                        findings(web.json).contains { $0.code == "SERVICE_NO_ENDPOINTS" && $0.message.contains("Cilium's load balancer") })
                }
            }
        }
    }
}

import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    @Suite("Privileged: trace on the lab")
    struct TraceTests {
        /// pod-c lives on node2: from node1 it is a remote endpoint, named by its IP.
        static func podC(_ topology: String) -> String { topology == "overlay" ? "10.244.2.2" : "10.245.2.2" }

        func trace(_ arguments: [String]) throws -> (status: Int32, json: ConfigValue, seconds: Double) {
            let started = Clock.now()
            let result = try Binary.run(
                ["lab", "exec", "node1", "--", "netdoctor", "trace"] + arguments + ["-o", "json"], timeout: 60_000)
            let seconds = Clock.now() - started
            #expect(result.errorText.isEmpty, "\(arguments): \(result.errorText)")
            return (result.status, try JSONParser.parse(bytes: result.output), seconds)
        }

        func errors(_ json: ConfigValue) -> [(code: String, hop: String)] {
            (json["findings"]?.array ?? []).compactMap { finding in
                guard finding["severity"]?.string == "error", let code = finding["code"]?.string else { return nil }
                return (code, finding["hop"]?.string ?? "")
            }
        }

        func fresh(_ topology: String) throws {
            let up = try Binary.run(["lab", "up", "--topology", topology], timeout: 120_000)
            try #require(up.status == 0, "lab up: \(up.errorText)")
        }

        @Test(
            "healthy paths: same node, cross node, TCP to pod-a's port 80; every hop sees request and reply; no error",
            arguments: ["overlay", "routed"])
        func healthy(topology: String) throws {
            try Privilege.require()
            try fresh(topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            for arguments in [["pod-a", "pod-b"], ["pod-a", Self.podC(topology)], ["pod-b", "pod-a", "--port", "80"]] {
                let (status, json, _) = try trace(arguments)
                #expect(status == 0, "\(topology) \(arguments)")
                #expect(json["reachable"]?.bool == true)
                #expect(errors(json).isEmpty, "\(topology) \(arguments): \(errors(json))")
                let hops = json["hops"]?.array ?? []
                #expect(hops.count >= 3, "\(topology) \(arguments): \(hops.count) hops")
                for hop in hops {
                    // A remote destination's reply is seen on this node's hops too: every hop carries both.
                    #expect(
                        hop["requestSeen"]?.bool == true && hop["replySeen"]?.bool == true,
                        "\(topology) \(arguments): \(hop["name"]?.string ?? "?")")
                }
            }
            let closed = try trace(["pod-b", "pod-a", "--port", "81"])
            #expect(closed.status == 1)
            #expect(closed.json["reachable"]?.bool == false)
            #expect(errors(closed.json).map(\.code) == ["PORT_CLOSED"])
            #expect(errors(closed.json).first?.hop == "pod-a:eth0")
            // UDP: the closed port's ICMP port unreachable, from a local pod and from one across the overlay.
            for (destination, hop) in [("pod-a", "pod-a:eth0"), (Self.podC(topology), Self.podC(topology))] {
                let udp = try trace(["pod-b", destination, "--port", "53", "--protocol", "udp"])
                #expect(udp.status == 1)
                #expect(udp.json["probe"]?.string == "UDP to port 53: ICMP port unreachable (closed)")
                #expect(errors(udp.json).map(\.code) == ["PORT_CLOSED"])
                #expect(errors(udp.json).first?.hop == hop)
            }
        }

        /// A fault, the trace that shows it, and what the verdict must say.
        struct Case: Sendable, CustomTestStringConvertible {
            var fault: String
            var topology: String
            var arguments: [String]
            var reachable: Bool
            /// The hop the fault's finding names (a prefix: host-side veth names are random).
            var hop: String
            /// Other error codes the same fault rightly brings (a cause and its symptom).
            var companions: Set<String> = []
            var testDescription: String { "\(topology) \(fault)" }
        }

        static let cases: [Case] = ["overlay", "routed"].flatMap { topology -> [Case] in
            let c = podC(topology)
            var cases = [
                Case(fault: "LINK_DOWN", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node:veth"),
                Case(fault: "NO_ROUTE", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node"),
                Case(fault: "IP_FORWARD_DISABLED", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node"),
                Case(
                    fault: "NEIGHBOR_FAILED", topology: topology, arguments: ["pod-a", c], reachable: false,
                    hop: topology == "overlay" ? "node:flannel.1" : "node:eth0"),
                Case(fault: "NEIGHBOR_MAC_MISMATCH", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "pod-a:eth0"),
                Case(fault: "FIREWALL_DROP", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node"),
                Case(fault: "MTU_MISMATCH", topology: topology, arguments: ["pod-a", c], reachable: true, hop: "pod-a:eth0"),
                Case(
                    fault: "PMTU_BLACKHOLE", topology: topology, arguments: ["pod-a", c], reachable: true, hop: "pod-a:eth0",
                    companions: ["MTU_MISMATCH"]),
                Case(fault: "LOST_BEYOND_NODE", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node:eth0"),
                Case(
                    fault: "REPLY_MISSING", topology: topology, arguments: ["pod-a", "pod-b"], reachable: false, hop: "pod-b:eth0",
                    companions: ["FIREWALL_DROP"]),
                Case(
                    fault: "PORT_CLOSED", topology: topology, arguments: ["pod-b", "pod-a", "--port", "80"], reachable: false,
                    hop: "pod-a:eth0"),
            ]
            if topology == "overlay" {
                cases += [
                    Case(fault: "BRIDGE_PORT_MISSING", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node:veth"),
                    Case(
                        fault: "OVERLAY_FDB_MISSING", topology: topology, arguments: ["pod-a", c], reachable: false, hop: "node:flannel.1"),
                    Case(fault: "DUPLICATE_IP", topology: topology, arguments: ["pod-a", "pod-b"], reachable: true, hop: "node"),
                ]
            }
            return cases
        }

        @Test("every path fault lab break offers, both topologies: the verdict, the code and the hop", arguments: cases)
        func fault(_ c: Case) throws {
            try Privilege.require()
            try fresh(c.topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let broken = try Binary.run(["lab", "break", c.fault])
            try #require(broken.status == 0, "lab break \(c.fault): \(broken.errorText)")
            let (status, json, _) = try trace(c.arguments + ["--timeout", "500"])
            #expect(status == 1)
            #expect(json["reachable"]?.bool == c.reachable)
            let found = errors(json)
            #expect(found.contains { $0.code == c.fault && $0.hop.hasPrefix(c.hop) }, "\(c.fault) at \(c.hop)?: \(found)")
            // No error that the fault does not explain: a false alarm beside the right one misleads too.
            #expect(Set(found.map(\.code)).subtracting([c.fault]).isSubset(of: c.companions), "\(found)")
        }

        @Test(
            "the way back: the node's route to pod-a deleted, replies arrive and go nowhere: NO_ROUTE where they come in",
            arguments: [("overlay", "10.244.1.0/24", "node:flannel.1"), ("routed", "10.245.1.2", "node:eth0")])
        func replyRoute(topology: String, route: String, hop: String) throws {
            try Privilege.require()
            try fresh(topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try sh(["ip", "-n", "ndlab-node1", "route", "del", route])
            let (status, json, _) = try trace(["pod-a", Self.podC(topology), "--timeout", "300"])
            #expect(status == 1)
            #expect(json["reachable"]?.bool == false)
            #expect(errors(json).map(\.code) == ["NO_ROUTE"])
            #expect(errors(json).first?.hop == hop)
            // The packets agree: the reply reached the node, and not pod-a.
            let hops = json["hops"]?.array ?? []
            #expect(hops.first { $0["name"]?.string == hop }?["replySeen"]?.bool == true)
            #expect(hops.first?["replySeen"]?.bool == false)
        }

        @Test("a hop's interface deleted mid-trace: a verdict still, and a warning that the hop's capture ended early")
        func vanishingHop() throws {
            try Privilege.require()
            try fresh("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "REPLY_MISSING"]).status == 0)
            let status = try Binary.run(["lab", "status", "-o", "json"])
            let pods = try JSONParser.parse(bytes: status.output)["pods"]?.array ?? []
            let veth = try #require(pods.first { $0["name"]?.string == "pod-b" }?["hostInterface"]?.string)
            let script =
                "(sleep 0.4; ip -n ndlab-node1 link del \(veth)) & exec \(Binary.path) lab exec node1 -- netdoctor trace pod-a pod-b --timeout 1500 -o json"
            let result = try #require(
                ChildProcess.run(
                    "/bin/sh", arguments: ["-c", script], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                    timeoutMilliseconds: 30_000))
            #expect(result.status == 1, "\(result.errorText)")
            #expect(result.errorText.isEmpty)
            let json = try JSONParser.parse(bytes: result.output)
            #expect(json["reachable"]?.bool == false)
            let warning = (json["findings"]?.array ?? []).first { $0["code"]?.string == "CAPTURE_DROPPED" }
            #expect(warning?["severity"]?.string == "warning")
            #expect(warning?["evidence"]?.array?.contains { $0.string?.contains(veth) == true } == true)
        }

        @Test(
            "drops beyond iptables rules: a chain's DROP policy, a native nftables rule; each named with its counter",
            arguments: [
                (["iptables", "-P", "FORWARD", "DROP"], "-t filter -P FORWARD DROP (the chain's policy)"),
                (
                    [
                        "nft",
                        "add table inet ndtest; add chain inet ndtest forward_check { type filter hook forward priority 0; };"
                            + " add rule inet ndtest forward_check ip daddr 10.244.2.2 counter drop",
                    ],
                    "nft table inet ndtest chain forward_check handle 2: ip daddr 10.244.2.2 drop"
                ),
            ])
        func otherDrops(command: [String], text: String) throws {
            try Privilege.require()
            try fresh("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try sh(["ip", "netns", "exec", "ndlab-node1"] + command)
            let (status, json, _) = try trace(["pod-a", "10.244.2.2", "--timeout", "300"])
            #expect(status == 1)
            #expect(json["reachable"]?.bool == false)
            #expect(errors(json).map(\.code) == ["FIREWALL_DROP"])
            let drop = (json["findings"]?.array ?? []).first { $0["code"]?.string == "FIREWALL_DROP" }
            #expect(drop?["hop"]?.string == "node")
            #expect(drop?["evidence"]?.array?.first?.string == "\(text)  (+1 packets during the probe)")
        }

        @Test("LOST_BEYOND_NODE's advice works: traced from node2, the FORWARD rule that drops the reply is named")
        func otherSide() throws {
            try Privilege.require()
            try fresh("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "LOST_BEYOND_NODE"]).status == 0)
            let result = try Binary.run(
                ["lab", "exec", "node2", "--", "netdoctor", "trace", "pod-c", "10.244.1.2", "--timeout", "500", "-o", "json"],
                timeout: 60_000)
            #expect(result.status == 1)
            let json = try JSONParser.parse(bytes: result.output)
            #expect(json["reachable"]?.bool == false)
            let drop = (json["findings"]?.array ?? []).first { $0["code"]?.string == "FIREWALL_DROP" }
            #expect(drop?["hop"]?.string == "node")
            #expect(drop?["evidence"]?.array?.first?.string?.contains("-A FORWARD -d 10.244.2.2/32") == true)
        }

        @Test("no firewall tools where the trace runs: a verdict still, and a warning for each namespace whose rules it could not read")
        func firewallUnreadable() throws {
            try Privilege.require()
            try fresh("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            // In a mount namespace of its own, iptables-save and nft are /bin/false.
            let script =
                "mount --bind /bin/false \"$(readlink -f /usr/sbin/iptables-save)\" && mount --bind /bin/false /usr/sbin/nft && "
                + "exec \(Binary.path) lab exec node1 -- netdoctor trace pod-a pod-b -o json"
            let result = try #require(
                ChildProcess.run(
                    "/usr/bin/unshare", arguments: ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
                    environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 60_000))
            #expect(result.status == 0, "\(result.errorText)")
            let json = try JSONParser.parse(bytes: result.output)
            #expect(json["reachable"]?.bool == true)
            let unreadable = (json["findings"]?.array ?? []).filter { $0["code"]?.string == "FIREWALL_UNREADABLE" }
            #expect(Set(unreadable.compactMap { $0["hop"]?.string }) == ["pod-a", "node", "pod-b"], "\(unreadable)")
            #expect(unreadable.allSatisfy { $0["severity"]?.string == "warning" })
        }

        @Test("bad input: unknown pods and a remote pod by name (2), a gone namespace and no privileges (3); waits are bounded")
        func badInput() throws {
            try Privilege.require()
            try fresh("overlay")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let unknown = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "no-such-pod", "pod-b"])
            #expect(unknown.status == 2)
            #expect(
                unknown.errorText == "netdoctor: no pod no-such-pod on this node (pods here: default/pod-b, default/pod-a)\n"
                    || unknown.errorText.split(separator: "\n").count == 1)
            let remoteByName = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", "pod-c"])
            #expect(remoteByName.status == 2)
            #expect(remoteByName.errorText.contains("give its IP"))
            let remoteSource = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "10.244.2.2", "pod-a"])
            #expect(remoteSource.status == 2)
            let badTimeout = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", "pod-b", "--timeout", "0"])
            #expect(badTimeout.status == 2)

            // Nothing answers 10.99.99.99 (the node routes it nowhere): the verdict still comes, in bounded time.
            let (status, json, seconds) = try trace(["pod-a", "10.99.99.99", "--timeout", "200"])
            #expect(status == 1)
            #expect(json["reachable"]?.bool == false)
            #expect(seconds < 3, "\(seconds) s")

            let unprivileged = try Binary.run([
                "lab", "exec", "node1", "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", Binary.path, "trace", "pod-a", "pod-b",
            ])
            #expect(unprivileged.status == 3, "\(unprivileged.status) \(unprivileged.errorText)")
            #expect(unprivileged.errorText.split(separator: "\n").count == 1)

            // pod-b's namespace removed under the cache: one line, exit 3.
            _ = try sh(["ip", "netns", "del", try labPod("pod-b").netns])
            let gone = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", "pod-b"])
            #expect(gone.status == 3, "\(gone.status) \(gone.errorText)")
            #expect(gone.errorText.contains("is gone") && gone.errorText.split(separator: "\n").count == 1)
        }
    }
}

import ConfigFormats
import TestSupport
import Testing

/// The calico topology on the real lab: pods wired by the lab's calico CNI plugin (run by each
/// node's containerd), /32 addresses behind proxy ARP, per-pod host routes, block routes over
/// vxlan.calico, and the policy engines' chains (felix's iptables and nftables dataplanes,
/// kube-router). No false alarm on its healthy paths; each fault named where it is.
extension PrivilegedSuite {
    @Suite("Privileged: the calico topology and NetworkPolicy attribution")
    struct CalicoLabTests {
        func up(_ extra: [String] = []) throws {
            let up = try Binary.run(["lab", "up", "--topology", "calico"] + extra, timeout: 120_000)
            try #require(up.status == 0, "lab up --topology calico \(extra): \(up.errorText)")
        }

        func run(_ arguments: [String], on node: String = "node1") throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor"] + arguments + ["-o", "json"], timeout: 60_000)
            #expect(result.errorText.isEmpty, "\(arguments): \(result.errorText)")
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func errors(_ json: ConfigValue) -> [(code: String, hop: String)] {
            (json["findings"]?.array ?? []).compactMap { finding in
                guard finding["severity"]?.string == "error", let code = finding["code"]?.string else { return nil }
                return (code, finding["hop"]?.string ?? "")
            }
        }

        func codes(_ json: ConfigValue) -> [String] { (json["findings"]?.array ?? []).compactMap { $0["code"]?.string } }

        func message(_ json: ConfigValue, _ code: String) -> String {
            (json["findings"]?.array ?? []).first { $0["code"]?.string == code }?["message"]?.string ?? ""
        }

        @Test(
            "healthy: pod to pod on one node, across nodes, TCP, to a Service; inspect and detect-cni see calico, no false alarm on 169.254.1.1"
        )
        func healthy() throws {
            try Privilege.require()
            try up(["--proxy", "iptables", "--agents"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            for arguments in [
                ["trace", "pod-a", "pod-b"], ["trace", "pod-a", "10.246.2.2"], ["trace", "pod-b", "pod-a", "--port", "80"],
                ["trace", "pod-b", "web"], ["inspect", "pod-a"], ["inspect", "node"],
            ] {
                let (status, json) = try run(arguments)
                #expect(status == 0, "\(arguments): \(codes(json))")
                #expect(codes(json).isEmpty, "\(arguments): \(codes(json))")
            }
            let pod = try run(["inspect", "pod-a"]).json
            let routes = (pod["routes"]?.array ?? []).compactMap { $0["text"]?.string ?? $0["destination"]?.string }
            #expect(!routes.isEmpty)
            let cni = try run(["detect-cni"]).json
            #expect(cni["cni"]?.string == "calico" && cni["encapsulation"]?.string == "vxlan")
            // No policy selects any pod: the profiles decide, and policy says so.
            let policy = try run(["policy", "pod-a"])
            #expect(policy.status == 0 && policy.json["selected"]?.bool == false)
            #expect(policy.json["endpoints"]?.array?.count == 2)
        }

        @Test("proxy ARP off on the host veth: NEIGHBOR_FAILED in the pod, naming the veth and its proxy_arp")
        func proxyARP() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "NEIGHBOR_FAILED_PROXY_ARP"]).status == 0)
            let (status, json) = try run(["trace", "pod-a", "pod-b"])
            #expect(status == 1)
            #expect(errors(json).map(\.code) == ["NEIGHBOR_FAILED"] && errors(json).first?.hop == "pod-a:eth0", "\(errors(json))")
            let said = message(json, "NEIGHBOR_FAILED")
            #expect(said.contains("169.254.1.1") && said.contains("proxy ARP") && said.contains("proxy_arp is off"), "\(said)")
        }

        @Test(
            "a pod's host route missing, a remote block's route missing: NO_ROUTE naming the route, not the default gateway",
            arguments: [
                ("NO_ROUTE_POD_ROUTE", "pod-b", "10.246.1.3 dev cali"),
                ("NO_ROUTE", "10.246.2.2", "10.246.2.0/26 via 10.246.2.0 dev vxlan.calico"),
            ])
        func missingRoutes(fault: String, destination: String, missing: String) throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", fault]).status == 0)
            let (status, json) = try run(["trace", "pod-a", destination])
            #expect(status == 1)
            #expect(errors(json).map(\.code) == ["NO_ROUTE"], "\(fault): \(errors(json))")
            let evidence = ((json["findings"]?.array ?? []).first { $0["code"]?.string == "NO_ROUTE" }?["evidence"]?.array ?? [])
                .compactMap(\.string)
            #expect(evidence.contains { $0.hasPrefix("missing: \(missing)") }, "\(evidence)")
            #expect(!codes(json).contains("NEIGHBOR_FAILED"), "the default gateway it fell to is not the fault: \(codes(json))")
        }

        struct PolicyCase: Sendable, CustomTestStringConvertible {
            var engine: String
            var fault: String
            var says: String
            var hop: String
            var testDescription: String { "\(engine) \(fault)" }
        }

        static let policyCases: [PolicyCase] = [
            PolicyCase(
                engine: "calico", fault: "POLICY_DENIED", says: "selected by KubernetesNetworkPolicy default/deny-all", hop: "node:cali"),
            PolicyCase(
                engine: "calico", fault: "POLICY_DENIED_PORT", says: "selected by KubernetesNetworkPolicy default/allow-8080",
                hop: "node:cali"),
            PolicyCase(
                engine: "calico", fault: "POLICY_DENIED_EXPLICIT", says: "GlobalNetworkPolicy deny-web-egress denies TCP port 80",
                hop: "node:cali"),
            PolicyCase(
                engine: "calico-nftables", fault: "POLICY_DENIED", says: "selected by KubernetesNetworkPolicy default/deny-all",
                hop: "node:cali"),
            PolicyCase(
                engine: "calico-nftables", fault: "POLICY_DENIED_PORT", says: "selected by KubernetesNetworkPolicy default/allow-8080",
                hop: "node:cali"),
            PolicyCase(
                engine: "calico-nftables", fault: "POLICY_DENIED_EXPLICIT", says: "GlobalNetworkPolicy deny-web-egress denies TCP port 80",
                hop: "node:cali"),
            PolicyCase(
                engine: "kube-router", fault: "POLICY_DENIED", says: "selected by NetworkPolicy default/deny-all", hop: "node:KUBE-POD-FW-"),
            PolicyCase(
                engine: "kube-router", fault: "POLICY_DENIED_PORT", says: "selected by NetworkPolicy default/allow-8080",
                hop: "node:KUBE-POD-FW-"),
            PolicyCase(
                engine: "kube-network-policies", fault: "POLICY_DENIED", says: "kube-network-policies judged TCP port 80", hop: "node"),
            PolicyCase(
                engine: "kube-network-policies", fault: "POLICY_DENIED_PORT", says: "selecting pod-a's ingress do not allow it", hop: "node"
            ),
        ]

        @Test(
            "a policy drop is POLICY_DENIED with the policies' names, in each engine's layout; policy POD lists them",
            arguments: policyCases)
        func policyDenied(_ c: PolicyCase) throws {
            try Privilege.require()
            try up(["--policy-engine", c.engine])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", c.fault]).status == 0)
            let (status, json) = try run(["trace", "pod-b", "pod-a", "--port", "80"])
            #expect(status == 1)
            // kube-router rejects: the reset that follows is the rule's, not a closed port.
            #expect(errors(json).map(\.code) == ["POLICY_DENIED"], "\(errors(json))")
            #expect(errors(json).first?.hop.hasPrefix(c.hop) == true, "\(errors(json))")
            #expect(message(json, "POLICY_DENIED").contains(c.says), "\(message(json, "POLICY_DENIED"))")
            let selected = c.fault == "POLICY_DENIED_EXPLICIT" ? "pod-b" : "pod-a"
            let policy = try run(["policy", selected])
            #expect(policy.status == 0 && policy.json["selected"]?.bool == true, "\(policy.json)")
            // felix 3.28+: POLICY_DENIED_PORT's two policies of one selector sit in a policy group chain.
            if c.engine.hasPrefix("calico"), c.fault == "POLICY_DENIED_PORT" {
                #expect(message(json, "POLICY_DENIED").contains("default/allow-metrics"), "\(message(json, "POLICY_DENIED"))")
                let listed = (policy.json["endpoints"]?.array ?? []).flatMap { $0["tiers"]?.array ?? [] }.flatMap {
                    $0["policies"]?.array ?? []
                }
                #expect(listed.count == 2 && listed.allSatisfy { $0["group"]?.string?.contains("cali-gi-") == true }, "\(listed)")
            }
            // kube-network-policies keeps its policies in userspace: policy POD names the queue instead.
            if c.engine == "kube-network-policies" {
                #expect(policy.json["queuedBy"]?.array?.first?["engine"]?.string == "kube-network-policies", "\(policy.json)")
            }
        }

        @Test("kube-network-policies' queue without its listener: POLICY_ENGINE_DOWN; with it, TCP 8080 allowed passes")
        func queueEngine() throws {
            try Privilege.require()
            try up(["--policy-engine", "kube-network-policies"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "POLICY_DENIED_PORT"]).status == 0)
            // pod-a serves 8080 only with --proxy; the allowed port's SYN comes back refused, not dropped.
            let allowed = try run(["trace", "pod-b", "pod-a", "--port", "8080"])
            #expect(!codes(allowed.json).contains("POLICY_DENIED"), "\(codes(allowed.json))")
            try #require(try Binary.run(["lab", "break", "POLICY_ENGINE_DOWN"]).status == 0)
            let (status, json) = try run(["trace", "pod-b", "pod-a"])
            #expect(status == 1)
            #expect(errors(json).map(\.code) == ["POLICY_ENGINE_DOWN"], "\(errors(json))")
        }

        @Test("kube-router accepts ICMP where the policy denies TCP: a passing trace without --port says so")
        func icmpOnly() throws {
            try Privilege.require()
            try up(["--policy-engine", "kube-router"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "POLICY_DENIED"]).status == 0)
            let (status, json) = try run(["trace", "pod-b", "pod-a"])
            #expect(status == 0 && json["reachable"]?.bool == true)
            #expect(codes(json) == ["POLICY_ICMP_ONLY"], "\(codes(json))")
        }

        @Test("a policy drop on the remote node is named by that node's agent")
        func remoteDenial() throws {
            try Privilege.require()
            try up(["--agents"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "POLICY_DENIED", "--node", "node2"]).status == 0)
            let (status, json) = try run(["trace", "pod-a", "10.246.2.2", "--port", "80"])
            #expect(status == 1)
            #expect(errors(json).contains { $0.code == "POLICY_DENIED" && $0.hop.hasPrefix("node2:cali") }, "\(errors(json))")
            #expect(message(json, "POLICY_DENIED").contains("default/deny-all-c"))
        }

        /// The tables of every lab namespace whose name says netdoctor made them.
        func tracingTables() throws -> [String] {
            let namespaces = try sh(["ip", "netns", "list"]).split(separator: "\n").compactMap {
                $0.split(separator: " ").first.map(String.init)
            }
            return try namespaces.filter { $0.hasPrefix("ndlab-") || $0.hasPrefix("cni-") }.flatMap { ns in
                try sh(["ip", "netns", "exec", ns, "nft", "list", "tables"]).split(separator: "\n").filter {
                    $0.contains("netdoctor-trace-")
                }.map { "\(ns): \($0)" }
            }
        }

        @Test("--trace-rules: every rule the request met, with the policy's drop and its comment; nothing left behind")
        func traceRules() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "POLICY_DENIED_PORT"]).status == 0)
            // A table an earlier, killed netdoctor left: removed by the next --trace-rules.
            _ = try sh(["ip", "netns", "exec", "ndlab-node1", "nft", "add", "table", "ip", "netdoctor-trace-999999-1"])
            let (status, json) = try run(["trace", "pod-b", "pod-a", "--port", "80", "--trace-rules"])
            #expect(status == 1)
            let node = try #require((json["ruleTrace"]?.array ?? []).first { $0["namespace"]?.string == "node" })
            let rules = node["rules"]?.array ?? []
            let last = try #require(rules.last)
            #expect(last["verdict"]?.string == "drop" && last["chain"]?.string?.hasPrefix("cali-tw-") == true)
            #expect(
                last["comments"]?.array?.compactMap(\.string).contains("End of tier default. Drop if no policies passed packet") == true)
            #expect(last["handle"]?.int != nil && last["table"]?.string == "filter" && last["family"]?.string == "ip")
            #expect(rules.contains { $0["verdict"]?.string?.hasPrefix("jump cali-pi-") == true })
            #expect(codes(json).contains("POLICY_DENIED") && !codes(json).contains("RULE_TRACE_FAILED"))
            let left = try tracingTables()
            #expect(left.isEmpty, "\(left)")
            // Without the flag: no table is ever added, and the report has no rule trace.
            let plain = try run(["trace", "pod-b", "pod-a", "--port", "80"]).json
            #expect(plain["ruleTrace"] == nil)
            // Without privileges: one line, exit 3, nothing added (trace and policy alike).
            for command in [["trace", "pod-b", "pod-a", "--port", "80", "--trace-rules"], ["policy", "pod-a"]] {
                let unprivileged = try Binary.run(
                    [
                        "lab", "exec", "node1", "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", Binary.path,
                    ] + command)
                #expect(unprivileged.status == 3, "\(command): \(unprivileged.status) \(unprivileged.errorText)")
                #expect(unprivileged.errorText.split(separator: "\n").count == 1, "\(unprivileged.errorText)")
            }
            let afterUnprivileged = try tracingTables()
            #expect(afterUnprivileged.isEmpty, "\(afterUnprivileged)")
        }

        @Test("--trace-rules interrupted (SIGINT while the probe waits): the tables are removed, exit 130")
        func traceRulesInterrupted() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "NO_ROUTE"]).status == 0)
            let script = """
                ip netns exec ndlab-node1 env NETDOCTOR_ROOT=/var/lib/netdoctor-lab/node1 '\(Binary.path)' trace pod-a 10.246.2.2 --trace-rules --timeout 5000 >/dev/null 2>&1 &
                pid=$!
                for i in $(seq 50); do ip netns exec ndlab-node1 nft list tables | grep -q netdoctor-trace- && break; sleep 0.05; done
                ip netns exec ndlab-node1 nft list tables | grep -c netdoctor-trace- || true
                kill -INT $pid
                wait $pid; echo "exit=$?"
                """
            let out = try sh(["bash", "-c", script], timeout: 20_000)
            #expect(out.hasPrefix("1\n"), "the table was there while the probe waited: \(out)")
            #expect(out.contains("exit=130"), "\(out)")
            let left = try tracingTables()
            #expect(left.isEmpty, "\(left)")
        }
    }
}

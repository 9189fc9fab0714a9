import ConfigFormats
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `check` on the real lab: a healthy node says nothing is wrong; each fault made as its real
/// cause makes it is named, at its place, and nothing else is an error.
extension PrivilegedSuite {
    @Suite("Privileged: check on the lab")
    struct CheckLabTests {
        func check(_ node: String = "node1") throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor", "check", "-o", "json"])
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func findings(_ json: ConfigValue, atLeast severities: Set<String> = ["warning", "error"]) -> [ConfigValue] {
            (json["findings"]?.array ?? []).filter { severities.contains($0["severity"]?.string ?? "") }
        }

        func codes(_ json: ConfigValue, _ severities: Set<String> = ["warning", "error"]) -> [String] {
            findings(json, atLeast: severities).compactMap { $0["code"]?.string }
        }

        func fresh(_ arguments: [String] = []) throws {
            let up = try Binary.run(["lab", "up"] + arguments, timeout: 120_000)
            try #require(up.status == 0, "lab up: \(up.errorText)")
        }

        @Test(
            "a healthy lab: no problem on either node, in every topology and family",
            arguments: [
                ["--topology", "overlay"], ["--topology", "routed"], ["--topology", "calico"],
                ["--topology", "overlay", "--family", "dual"],
                ["--topology", "routed", "--family", "6"], ["--proxy", "iptables"],
            ])
        func healthy(arguments: [String]) throws {
            try Privilege.require()
            try fresh(arguments)
            defer { _ = try? Binary.run(["lab", "down"]) }
            for node in ["node1", "node2"] {
                let (status, json) = try check(node)
                #expect(status == 0, "\(arguments) \(node): \(codes(json))")
                #expect(codes(json).isEmpty, "\(arguments) \(node): \(codes(json))")
                #expect(json["runtime"]?["networkReady"]?.bool == true)
                #expect((json["runtime"]?["sandboxes"]?["ready"]?.int ?? 0) >= (json["pods"]?["count"]?.int ?? 1))
                #expect(json["runtime"]?["sandboxes"]?["notReady"]?.int == 0)
                #expect(json["pods"]?["count"]?.int == (node == "node1" ? 2 : 1))
                let sets = json["ipam"]?.array?.first?["rangeSets"]?.array ?? []
                #expect(sets.count == (arguments.contains("dual") ? 2 : 1))
                #expect(json["network"]?.string != nil)
                #expect(sets.first?["used"]?.int == (node == "node1" ? 2 : 1))
            }
        }

        @Test("IPAM faults through the real host-local: a full pool is an error with its leaks named; a leak alone a warning")
        func ipam() throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "IPAM_LEAKED"])
            var (status, json) = try check()
            #expect(status == 0)
            #expect(codes(json) == ["IPAM_LEAKED"])
            #expect(json["ipam"]?.array?.first?["leaked"]?.int == 3)
            #expect(findings(json).first?["hop"]?.string == "/var/lib/cni/networks/lab-overlay")
            _ = try Binary.run(["lab", "break", "IPAM_EXHAUSTED"], timeout: 120_000)
            (status, json) = try check()
            #expect(status == 1)
            #expect(codes(json, ["error"]) == ["IPAM_EXHAUSTED"])
            #expect(codes(json, ["warning"]) == ["IPAM_LEAKED"])
            let exhausted = findings(json, atLeast: ["error"]).first
            #expect(exhausted?["message"]?.string?.contains("no IP addresses available in range set: 10.244.1.1-10.244.1.254") == true)
            #expect(json["ipam"]?.array?.first?["rangeSets"]?.array?.first?["used"]?.int == 253)
            // node2's pool is its own.
            #expect(try check("node2").status == 0)
        }

        @Test("a pod subnet changed under the bridge: check says what the real bridge plugin then says")
        func bridgeAddress() throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "BRIDGE_ADDRESS_MISMATCH"])
            let (status, json) = try check()
            #expect(status == 1)
            #expect(codes(json) == ["BRIDGE_ADDRESS_MISMATCH"])
            let finding = findings(json).first
            #expect(finding?["hop"]?.string == "node:cni0")
            #expect(finding?["evidence"]?.array?.first?.string == "ip addr show cni0: 10.244.1.1/24")
            // The real plugin, asked for a new pod on node1 with the changed config, refuses as predicted.
            _ = try sh(["ip", "netns", "add", "ndtest-bridge"])
            defer { _ = try? sh(["ip", "netns", "del", "ndtest-bridge"]) }
            let config = """
                {"cniVersion":"1.0.0","name":"lab-overlay","type":"bridge","bridge":"cni0","isGateway":true,
                 "ipam":{"type":"host-local","dataDir":"/tmp/ndtest-bridge-ipam","ranges":[[{"subnet":"10.244.101.0/24"}]]}}
                """
            defer { FileTree.remove("/tmp/ndtest-bridge-ipam") }
            let plugin = ChildProcess.run(
                "/usr/bin/ip",
                arguments: [
                    "netns", "exec", "ndlab-node1", "env", "CNI_COMMAND=ADD", "CNI_CONTAINERID=ndtestbridge",
                    "CNI_NETNS=/var/run/netns/ndtest-bridge",
                    "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni", "/usr/lib/cni/bridge",
                ], environment: [], input: Array(config.utf8), timeoutMilliseconds: 10_000)
            // (Its answer is JSON: the quotes around cni0 come escaped.)
            let said = (try? JSONParser.parse(bytes: plugin?.output ?? []))?["msg"]?.string
            #expect(said == "failed to set bridge addr: \"cni0\" already has an IP address different from 10.244.101.1/24")
        }

        @Test("the runtime's own word: an emptied conf dir turns containerd's NetworkReady false")
        func runtimeNotReady() throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "RUNTIME_NETWORK_NOT_READY"])
            let (status, json) = try check()
            #expect(status == 1)
            // detect-cni's finding is the cause; the runtime's condition its consequence.
            #expect(Set(codes(json, ["error"])) == ["CNI_NO_CONFIG", "RUNTIME_NETWORK_NOT_READY"])
            #expect(json["runtime"]?["networkReady"]?.bool == false)
            #expect(json["runtime"]?["reason"]?.string == "NetworkPluginNotReady")
        }

        @Test("br_netfilter's switch off where pods are bridge ports and kube-proxy uses iptables")
        func brNetfilter() throws {
            try Privilege.require()
            try fresh(["--proxy", "iptables"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "BR_NETFILTER_DISABLED"])
            let (status, json) = try check()
            #expect(status == 1)
            #expect(codes(json) == ["BR_NETFILTER_DISABLED"])
            #expect(findings(json).first?["evidence"]?.array?.first?.string == "net.bridge.bridge-nf-call-iptables = 0")
            #expect(json["services"]?["mode"]?.string == "iptables")
        }

        @Test("a sandbox that got no network: its cause in the plugin's words, from the runtime's log")
        func sandboxFailed() throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            #expect(try Binary.run(["lab", "break", "SANDBOX_NETWORK_FAILED"]).status == 0)
            let result = try Binary.run([
                "lab", "exec", "node1", "--", "netdoctor", "check", "--runtime-log", "/var/lib/netdoctor-lab/containerd-node1.log", "-o",
                "json",
            ])
            let json = try JSONParser.parse(bytes: result.output)
            #expect(result.status == 1)
            // The cause (the binary detect-cni finds missing) and its consequence for new pods.
            #expect(Set(codes(json, ["error"])) == ["CNI_BINARY_MISSING", "SANDBOX_NETWORK_FAILED"])
            let failure = findings(json, atLeast: ["error"]).first { $0["code"]?.string == "SANDBOX_NETWORK_FAILED" }
            #expect(failure?["message"]?.string?.contains(#"plugin type="bridge" failed (add): failed to find plugin "bridge""#) == true)
            #expect(failure?["evidence"]?.array?.contains(.string("pods: default/pod-new")) == true)
            #expect(json["sandboxFailures"]?.array?.first?["count"]?.int == 1)
            #expect(json["logsRead"]?.array?.contains(.string("/var/lib/netdoctor-lab/containerd-node1.log")) == true)
        }

        @Test("flannel.1 bound to a second NIC (the NAT interface): the overlay's underlay is not the one the node reaches its peers by")
        func overlayUnderlay() throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            #expect(try check().status == 0)
            #expect(try Binary.run(["lab", "break", "OVERLAY_WRONG_UNDERLAY"]).status == 0)
            let (status, json) = try check()
            #expect(status == 1)
            #expect(codes(json, ["error"]) == ["OVERLAY_WRONG_UNDERLAY"])
            let finding = findings(json, atLeast: ["error"]).first
            #expect(finding?["hop"]?.string == "node:flannel.1")
            #expect(
                finding?["evidence"]?.array?.first?.string
                    == "flannel.1 is bound to eth1, but the route to VTEP 192.168.77.2 leaves by eth0")
        }

        @Test("the ephemeral port range widened over kube-proxy's NodePorts")
        func nodePortOverlap() throws {
            try Privilege.require()
            try fresh(["--proxy", "iptables"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            #expect(try Binary.run(["lab", "break", "NODEPORT_RANGE_OVERLAP"]).status == 0)
            let (status, json) = try check()
            #expect(status == 0)  // a warning: nothing is broken until a client takes the port
            #expect(codes(json) == ["NODEPORT_RANGE_OVERLAP"])
            let evidence = findings(json).first?["evidence"]?.array?.compactMap(\.string) ?? []
            #expect(evidence.first == "net.ipv4.ip_local_port_range = 20000 60999")
            #expect(evidence.last == "NodePorts programmed by kube-proxy: 30080, 30081")
        }

        @Test("strict rp_filter with a route back to a pod by another interface: the pod's packets dropped where they enter")
        func reversePath() throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            // Strict alone is no fault: the bridge routes each pod back out of cni0.
            _ = try Binary.run(["lab", "exec", "node1", "--", "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1"])
            #expect(try check().status == 0)
            #expect(try Binary.run(["lab", "break", "RP_FILTER_STRICT"]).status == 0)
            let (status, json) = try check()
            #expect(status == 1)
            #expect(codes(json, ["error"]) == ["RP_FILTER_STRICT"])
            let finding = findings(json, atLeast: ["error"]).first
            #expect(finding?["hop"]?.string == "node:cni0")
            #expect(
                finding?["evidence"]?.array?.first?.string
                    == "pod-a (10.244.1.2) enters by cni0, where rp_filter is 1; the route back to 10.244.1.2 leaves by eth0")
        }

        @Test("--probe: the MTU sweep and a DNS lookup from pod-a, node2's agent's health; each fault named by the probe's own code")
        func probes() throws {
            try Privilege.require()
            try fresh(["--agents", "--proxy", "iptables"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            func probed(_ extra: [String] = []) throws -> (status: Int32, json: ConfigValue) {
                let result = try Binary.run(
                    [
                        "lab", "exec", "node1", "--", "netdoctor", "check", "--probe", "--token-file", "/var/lib/netdoctor-lab/agent-token",
                        "-o", "json",
                    ]
                        + extra, timeout: 60_000)
                return (result.status, try JSONParser.parse(bytes: result.output))
            }
            // Without --probe nothing is sent: the report says so.
            #expect(try check().json["probes"] == .null)
            let (status, json) = try probed()
            #expect(status == 0, "\(codes(json))")
            #expect(codes(json).isEmpty, "\(codes(json))")
            let sent = json["probes"]?["sent"]?.array ?? []
            #expect(json["probes"]?["pod"]?.string == "default/pod-a")
            let kinds = sent.compactMap { $0["probe"]?.string }
            #expect(kinds.filter { $0 == "path MTU to" }.count >= 2, "\(sent)")
            #expect(sent.contains { $0["probe"]?.string == "DNS lookup of" && $0["outcome"]?.string?.contains("is 10.96.0.1") == true })
            #expect(
                sent.contains {
                    $0["probe"]?.string == "agent health" && $0["target"]?.string == "192.168.77.2:9449"
                        && $0["outcome"]?.string == "healthy"
                })

            // node2's agent stopped: its health check goes unanswered, in bounded time.
            let state = try JSONParser.parse(bytes: try #require(Repository.read("/var/lib/netdoctor-lab/state.json")))
            let agent = try #require(state["agents"]?["node2"]?.int)
            kill(pid_t(agent), SIGSTOP)
            let silent = try probed()
            kill(pid_t(agent), SIGCONT)
            #expect(codes(silent.json).contains("AGENT_UNREACHABLE"), "\(codes(silent.json))")
            #expect(
                (silent.json["probes"]?["sent"]?.array ?? []).contains {
                    $0["probe"]?.string == "agent health" && $0["outcome"]?.string?.hasPrefix("no answer") == true
                })

            // The path carries less than pod-a's MTU: mtu-probe's own verdict.
            #expect(try Binary.run(["lab", "break", "MTU_MISMATCH"]).status == 0)
            let small = try probed()
            #expect(small.status == 1)
            #expect(codes(small.json, ["error"]).contains("MTU_MISMATCH"), "\(codes(small.json))")
        }
    }
}

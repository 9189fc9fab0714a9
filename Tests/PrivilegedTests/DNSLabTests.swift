import ConfigFormats
#if canImport(Glibc)
    import Glibc
#endif
import NodeFiles
import TestSupport
import Testing

/// Cluster DNS on the real lab (`lab up --proxy`): dnsmasq behind kube-system/kube-dns, the pods'
/// resolv.conf files as containerd wrote them, lookups from pod-b's namespace; each DNS fault's
/// code, in each kube-proxy mode.
extension PrivilegedSuite {
    @Suite("Privileged: DNS from the pod's view")
    struct DNSLabTests {
        func run(_ arguments: [String]) throws -> (status: Int32, json: ConfigValue, seconds: Double) {
            let start = Clock.now()
            let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor"] + arguments + ["-o", "json"])
            return (result.status, try JSONParser.parse(bytes: result.output), Clock.now() - start)
        }

        func codes(_ json: ConfigValue) -> [String] { (json["findings"]?.array ?? []).compactMap { $0["code"]?.string } }

        func fresh(_ mode: String) throws {
            let up = try Binary.run(["lab", "up", "--proxy", mode], timeout: 120_000)
            try #require(up.status == 0, "lab up --proxy \(mode): \(up.errorText)")
        }

        @Test(
            "a healthy lookup in each mode: containerd's resolv.conf, ClusterFirst, the search list walked, UDP and TCP answered",
            arguments: ["iptables", "nftables"])
        func healthy(mode: String) throws {
            try Privilege.require()
            try fresh(mode)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (status, json, _) = try run(["dns", "pod-b"])
            #expect(status == 0, "\(codes(json))")
            #expect(json["policy"]?.string == "ClusterFirst")
            #expect(json["resolvConf"]?["path"]?.string?.contains("io.containerd.grpc.v1.cri/sandboxes/") == true)
            #expect(json["resolvConf"]?["nameservers"]?.array?.compactMap(\.string) == ["10.96.0.10"])
            #expect(json["kubelet"]?["clusterDNS"]?.array?.compactMap(\.string) == ["10.96.0.10"])
            #expect(json["resolution"]?["addresses"]?.array?.compactMap(\.string) == ["10.96.0.1"])
            // kubernetes.default has one dot (< ndots 5): the search domains first; the second answers.
            #expect(json["resolution"]?["name"]?.string == "kubernetes.default.svc.cluster.local")
            let web = try run(["dns", "pod-b", "web"])
            #expect(web.status == 0 && web.json["resolution"]?["addresses"]?.array?.compactMap(\.string) == ["10.96.0.80"])
            let exchanges = web.json["exchanges"]?.array ?? []
            let answered = exchanges.filter { $0["name"]?.string == "web.default.svc.cluster.local" && $0["outcome"]?.string == "answered" }
            #expect(Set(answered.compactMap { $0["transport"]?.string }) == ["udp", "tcp"])
            // The conntrack race probe ran: 20 pairs from one socket, the node's counters read around it.
            #expect(web.json["burst"]?["rounds"]?.int == 20 && web.json["burst"]?["lost"]?.int == 0)
            #expect(web.json["burst"]?["insertFailed"]?.int != nil)
            // A name nobody has: every search-list name NXDOMAIN, listed in the resolver's order.
            let missing = try run(["dns", "pod-b", "nosuch"])
            #expect(missing.status == 1 && codes(missing.json) == ["DNS_NXDOMAIN"])
            #expect(missing.json["resolution"]?["queries"]?.array?.count == 8)
        }

        @Test(
            "each DNS fault names its code, in each mode",
            arguments: [
                ("iptables", "DNS_SERVER_UNREACHABLE"), ("nftables", "DNS_SERVER_UNREACHABLE"), ("iptables", "DNS_UDP_BLOCKED"),
                ("nftables", "DNS_UDP_BLOCKED"), ("iptables", "DNS_NO_ANSWER"), ("iptables", "DNS_CONFIG_MISMATCH"),
                ("iptables", "DNS_CONFIG_INVALID"), ("iptables", "DNS_LOOP_RISK"), ("nftables", "DNS_NO_ANSWER"),
                ("nftables", "DNS_CONFIG_MISMATCH"),
                ("iptables", "DNS_SLOW"),
            ])
        func faults(mode: String, fault: String) throws {
            try Privilege.require()
            try fresh(mode)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let broke = try Binary.run(["lab", "break", fault])
            try #require(broke.status == 0, "\(broke.errorText)")
            // The slow servers answer 700 ms late: wait for them.
            let (status, json, _) = try run(["dns", "pod-b", "web", "--timeout", fault == "DNS_SLOW" ? "2000" : "500"])
            let warningOnly = ["DNS_LOOP_RISK", "DNS_NO_ANSWER", "DNS_CONFIG_INVALID", "DNS_SLOW"].contains(fault)
            #expect(status == 1 || warningOnly, "\(fault): \(status)")
            #expect(codes(json).contains(fault), "\(fault): \(codes(json))")
            if fault == "DNS_SERVER_UNREACHABLE" {
                // The nameserver is the DNS Service's address: kube-proxy's table says why.
                #expect(codes(json).contains("SERVICE_NO_ENDPOINTS"), "\(codes(json))")
            }
        }

        @Test("NodeLocal DNSCache: answered on the node with its link and rules in place; its link gone with the rules left, named")
        func nodeLocal() throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up", "--proxy", "iptables", "--nodelocaldns"], timeout: 120_000)
            try #require(up.status == 0, "\(up.errorText)")
            defer { _ = try? Binary.run(["lab", "down"]) }
            // The link is down, as node-cache leaves its dummy link: no fault (kubernetes/dns#666).
            let link = try Binary.run(["lab", "exec", "node1", "--", "ip", "-o", "link", "show", "nodelocaldns"])
            #expect(link.outputText.contains("state DOWN") && !link.outputText.contains(",UP"), "\(link.outputText)")
            let (status, json, _) = try run(["dns", "pod-b", "web"])
            #expect(status == 0 && codes(json).isEmpty, "\(codes(json))")
            let broke = try Binary.run(["lab", "break", "NODELOCALDNS_BROKEN"])
            try #require(broke.status == 0, "\(broke.errorText)")
            let after = try run(["dns", "pod-b", "web", "--timeout", "500"])
            #expect(after.status == 1 && codes(after.json).contains("NODELOCALDNS_BROKEN"), "\(codes(after.json))")
            #expect(codes(after.json).contains("DNS_SERVER_UNREACHABLE"), "\(codes(after.json))")
        }

        @Test("DNS servers without an upstream: names outside the cluster REFUSED (DNS_SERVER_ERROR), cluster names still resolve")
        func serverError() throws {
            try Privilege.require()
            try fresh("iptables")
            defer { _ = try? Binary.run(["lab", "down"]) }
            #expect(try run(["dns", "pod-b", "example.com", "--timeout", "500"]).json["resolution"]?["status"]?.string == "notFound")
            let broke = try Binary.run(["lab", "break", "DNS_SERVER_ERROR"])
            try #require(broke.status == 0, "\(broke.errorText)")
            usleep(300_000)
            let outside = try run(["dns", "pod-b", "example.com.", "--timeout", "1000"])
            #expect(outside.status == 1 && codes(outside.json).contains("DNS_SERVER_ERROR"), "\(codes(outside.json))")
            #expect(try run(["dns", "pod-b", "web"]).status == 0)
        }

        @Test(
            "a dead nameserver is named within the resolver's own budget for one query (timeout 5 s × attempts 2) plus 500 ms; its Service's endpoint traced shows the drop"
        )
        func budget() throws {
            try Privilege.require()
            try fresh("iptables")
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "DNS_UDP_BLOCKED"])
            _ = try Binary.run(["lab", "break", "DNS_NO_ANSWER"])
            let (status, json, seconds) = try run(["dns", "pod-b", "web"])
            #expect(status == 1 && codes(json).contains("DNS_SERVER_UNREACHABLE"), "\(codes(json))")
            #expect(seconds < 10.5 + 1.0, "\(seconds) s")  // plus `lab exec`'s own start
            // The DNS Service traced over TCP 53 from pod-b: the drop in pod-b's own rules, named.
            #expect(json["serviceTraces"]?.array?.count == 1)
            #expect(codes(json).contains("FIREWALL_DROP"), "\(codes(json))")
        }

        @Test("trace to a name: resolved from the pod, then traced to the Service; a name that does not resolve is the verdict")
        func traceToName() throws {
            try Privilege.require()
            try fresh("iptables")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (status, json, _) = try run(["trace", "pod-b", "web.default.svc.cluster.local:80"])
            #expect(status == 0, "\(codes(json))")
            #expect(json["dns"]?["addresses"]?.array?.compactMap(\.string) == ["10.96.0.80"])
            #expect(json["service"]?["name"]?.string == "default/web:http")
            let missing = try run(["trace", "pod-b", "nosuch.default"])
            #expect(
                missing.status == 1 && codes(missing.json) == ["DNS_NXDOMAIN"]
                    && missing.json["verdict"]?.string == "the name does not resolve")
        }

        @Test(
            "bad input: a name that is not one, an unknown pod, a resolv.conf not text: one line, status 2; the runtime's copy gone: the sandbox's view; a server answering garbage: named, no crash"
        )
        func badInput() throws {
            try Privilege.require()
            try fresh("iptables")
            defer { _ = try? Binary.run(["lab", "down"]) }
            for arguments in [
                ["dns", "pod-b", "not a name!"], ["dns", "nosuch-pod"], ["dns", "pod-b", String(repeating: "a", count: 64)],
            ] {
                let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor"] + arguments)
                #expect(result.status == 2, "\(arguments): \(result.errorText)")
                #expect(result.errorText.split(separator: "\n").count == 1, "\(arguments): \(result.errorText)")
            }
            // pod-a's resolv.conf moved away, then made binary.
            let status = try Binary.run(["lab", "status", "-o", "json"])
            let sandbox = try #require(
                try JSONParser.parse(bytes: status.output)["pods"]?.array?.first { $0["name"]?.string == "pod-a" }?["sandboxID"]?.string)
            let file = "/var/lib/netdoctor-lab/node1/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/\(sandbox)/resolv.conf"
            let shell = { (script: String) in
                _ = ChildProcess.run(
                    "/bin/sh", arguments: ["-c", script], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 5000)
            }
            // Not where containerd keeps it: read as the pod's sandbox (pause) process sees it.
            shell("mv '\(file)' '\(file).away'")
            let moved = try run(["dns", "pod-a"])
            #expect(
                moved.json["resolvConf"]?["path"]?.string?.hasSuffix("/root/etc/resolv.conf") == true,
                "\(moved.json["resolvConf"] ?? .null)")
            #expect(moved.json["resolvConf"]?["nameservers"]?.array?.compactMap(\.string) == ["10.96.0.10"])
            shell("mv '\(file).away' '\(file)'")
            // Not text, for the runtime's copy and the sandbox's view of it alike: one line, status 2.
            shell("printf 'nameserver 10.96.0.10\\0\\0' > '\(file)'")
            let binary = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "dns", "pod-a"])
            #expect(binary.status == 2 && binary.errorText.contains("not a text file"), "\(binary.errorText)")
            #expect(binary.errorText.split(separator: "\n").count == 1)
            // A nameserver that answers garbage: the lab's UDP echo (default/echo) sends the query back;
            // with a UDP conntrack entry towards it left pointing at an endpoint that is gone.
            shell("printf 'nameserver 10.96.0.53\\n' > '\(file)'")
            _ = try Binary.run(["lab", "break", "STALE_CONNTRACK"])
            let garbage = try run(["dns", "pod-a", "web", "--timeout", "500"])
            #expect(garbage.status == 1 && codes(garbage.json).contains("DNS_SERVER_ERROR"), "\(codes(garbage.json))")
            #expect(codes(garbage.json).contains("STALE_CONNTRACK"), "\(codes(garbage.json))")
            #expect(garbage.json["exchanges"]?.array?.contains { $0["outcome"]?.string == "malformed" } == true)
        }
    }
}

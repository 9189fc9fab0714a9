import ConfigFormats
import NodeFiles
import Services
import TestSupport
import Testing

/// Services on the real lab (`lab up --proxy`): kube-proxy's rules as kube-proxy writes them,
/// loaded with the real iptables-restore and nft, backends answering in pod-a and pod-c; what
/// `services` reads back, what a trace through a Service says, and each service fault's code.
extension PrivilegedSuite {
    @Suite("Privileged: Services through kube-proxy's rules")
    struct ServiceLabTests {
        func run(_ node: String, _ arguments: [String]) throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor"] + arguments + ["-o", "json"])
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func codes(_ json: ConfigValue) -> [String] { (json["findings"]?.array ?? []).compactMap { $0["code"]?.string } }

        func fresh(_ mode: String) throws {
            let up = try Binary.run(["lab", "up", "--proxy", mode], timeout: 120_000)
            try #require(up.status == 0, "lab up --proxy \(mode): \(up.errorText)")
        }

        @Test(
            "services: the table read back in each mode, endpoints placed on this node or the other, the two problems the lab has by design",
            arguments: ["iptables", "nftables"])
        func table(mode: String) throws {
            try Privilege.require()
            try fresh(mode)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (status, json) = try run("node1", ["services"])
            #expect(status == 0)
            #expect(json["mode"]?.string == mode)
            // The lab's kube-proxy stand-in answers /proxyMode, as kube-proxy's metrics listener does.
            #expect(json["modeSource"]?.string?.contains("/proxyMode") == true, "\(json["modeSource"] ?? .null)")
            let services = json["services"]?.array ?? []
            #expect(
                services.compactMap { $0["name"]?.string }.sorted() == [
                    "default/echo:udp", "default/empty:http", "default/local:http", "default/web:http",
                    "kube-system/kube-dns:dns", "kube-system/kube-dns:dns-tcp",
                ])
            let web = try #require(services.first { $0["name"]?.string == "default/web:http" })
            let endpoints = web["endpoints"]?.array ?? []
            #expect(endpoints.compactMap { $0["where"]?.string }.sorted() == ["remote", "thisNode"])
            #expect(endpoints.allSatisfy { $0["port"]?.int == 8080 })
            #expect(web["frontends"]?.array?.contains { $0["kind"]?.string == "nodePort" && $0["port"]?.int == 30080 } == true)
            // default/empty has no endpoints; default/local's only endpoint is on node2 (Local policy).
            #expect(codes(json).sorted() == ["SERVICE_NO_ENDPOINTS", "SERVICE_NO_LOCAL_ENDPOINTS"])
            // On node2 default/local has its endpoint: only the empty Service is a problem there.
            #expect(codes(try run("node2", ["services"]).json) == ["SERVICE_NO_ENDPOINTS"])
            // Asking for the empty Service by name makes it an error.
            let empty = try run("node1", ["services", "default/empty"])
            #expect(empty.status == 1 && codes(empty.json) == ["SERVICE_NO_ENDPOINTS"])
            #expect(try run("node1", ["services", "nosuch/svc"]).status == 1)
            #expect(try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "services", "not a name"]).status == 2)
        }

        @Test(
            "kube-proxy's /configz as 1.30 and 1.33 serve it (Go field names; the cluster CIDR moved to DetectLocal.ClusterCIDRs in 1.31): no false MASQUERADE_MISSING, the shape named",
            arguments: [("1.33", "1.31+"), ("1.30", "1.29–1.30")])
        func configz(release: String, shape: String) throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up", "--proxy", "iptables", "--kube-proxy-release", release], timeout: 120_000)
            try #require(up.status == 0, "\(up.errorText)")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (_, json) = try run("node1", ["services"])
            #expect(!codes(json).contains("MASQUERADE_MISSING"), "\(release): \(codes(json))")
            #expect(json["kubeProxy"]?["clusterCIDR"]?.string == "10.244.0.0/16", "\(json["kubeProxy"] ?? .null)")
            #expect(json["kubeProxy"]?["configzShape"]?.string?.hasPrefix(shape) == true, "\(json["kubeProxy"] ?? .null)")
        }

        @Test(
            "iptables mode: the rules read from nf_tables directly give the table iptables-save's text gives; a rule nft wrote into the nat table makes it unreadable, and says why"
        )
        func rulesOverNetlink() throws {
            try Privilege.require()
            try fresh("iptables")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (_, json) = try run("node1", ["services"])
            #expect(json["rulesFrom"]?.string?.hasPrefix("nf_tables over netlink") == true, "\(json["rulesFrom"] ?? .null)")
            let fromNetlink = (json["services"]?.array ?? []).map { service in
                let endpoints = (service["endpoints"]?.array ?? []).compactMap { e in
                    e["address"]?.string.map { "\($0):\(e["port"]?.int ?? 0)" }
                }.sorted()
                return "\(service["name"]?.string ?? "?") \(service["frontends"]?.array?.count ?? 0) \(endpoints)"
            }.sorted()
            let saved = try Binary.run(["lab", "exec", "node1", "--", "iptables-save"])
            try #require(saved.status == 0)
            let fromText = IptablesServices.table(fromSave: saved.output).entries.map { entry in
                "\(entry.name?.description ?? "?") \(entry.frontends.count) \(entry.endpoints.map(\.description).sorted())"
            }.sorted()
            #expect(fromNetlink == fromText && fromNetlink.count == 6)

            // nft's own rule in iptables' nat table: iptables-save refuses the table, netdoctor says so
            // and judges no Service on what it could not read.
            let added = try Binary.run([
                "lab", "exec", "node1", "--", "nft", "add", "rule", "ip", "nat", "KUBE-SERVICES", "ct", "state", "new", "counter",
            ])
            try #require(added.status == 0, "\(added.errorText)")
            let (_, after) = try run("node1", ["services", "default/web"])
            #expect(codes(after) == ["SERVICE_RULES_UNREADABLE"], "\(codes(after))")
            #expect(after["findings"]?.array?.first?["message"]?.string?.contains("incompatible") == true)
        }

        @Test(
            "trace to a healthy Service: the DNAT step, the endpoint the kernel chose (conntrack), every endpoint answering, in each mode",
            arguments: ["iptables", "nftables"])
        func healthyTrace(mode: String) throws {
            try Privilege.require()
            try fresh(mode)
            defer { _ = try? Binary.run(["lab", "down"]) }
            for destination in ["default/web", "web", "10.96.0.80:80", "10.96.0.80", "192.168.77.1:30080"] {
                let (status, json) = try run("node1", ["trace", "pod-b", destination])
                #expect(status == 0, "\(destination): \(codes(json))")
                #expect(json["reachable"]?.bool == true, "\(destination)")
                #expect(json["service"]?["name"]?.string == "default/web:http")
                #expect(json["service"]?["mode"]?.string == mode)
                let chosen = try #require(json["conntrack"]?["endpoint"]?.string, "\(destination): no conntrack entry")
                let endpoints = json["endpoints"]?.array ?? []
                #expect(endpoints.count == 2 && endpoints.allSatisfy { $0["answers"]?.bool == true })
                #expect(
                    endpoints.contains { "\($0["address"]?.string ?? ""):\($0["port"]?.int ?? 0)" == chosen && $0["chosen"]?.bool == true })
            }
            // UDP: the echo Service answers through the DNAT too.
            let (status, json) = try run("node1", ["trace", "pod-b", "default/echo"])
            #expect(status == 0 && json["reachable"]?.bool == true, "\(codes(json))")
            #expect(json["conntrack"]?["replied"]?.bool == true)
        }

        @Test(
            "each service fault names its code, in each mode",
            arguments: [
                ("iptables", "SERVICE_NO_ENDPOINTS", "default/web", "SERVICE_NO_ENDPOINTS"),
                ("nftables", "SERVICE_NO_ENDPOINTS", "default/web", "SERVICE_NO_ENDPOINTS"),
                ("iptables", "SERVICE_NOT_PROGRAMMED", "10.96.0.80:80", "SERVICE_NOT_PROGRAMMED"),
                ("nftables", "SERVICE_NOT_PROGRAMMED", "10.96.0.80:80", "SERVICE_NOT_PROGRAMMED"),
                ("iptables", "ENDPOINT_UNREACHABLE", "default/web", "ENDPOINT_UNREACHABLE"),
                ("nftables", "ENDPOINT_UNREACHABLE", "default/web", "ENDPOINT_UNREACHABLE"),
                ("iptables", "STALE_CONNTRACK", "default/echo", "STALE_CONNTRACK"),
                ("nftables", "STALE_CONNTRACK", "default/echo", "STALE_CONNTRACK"),
                ("iptables", "MASQUERADE_MISSING", "default/web", "MASQUERADE_MISSING"),
                ("nftables", "MASQUERADE_MISSING", "default/web", "MASQUERADE_MISSING"),
                ("iptables", "HAIRPIN_DISABLED", "default/web", "HAIRPIN_DISABLED"),
                ("nftables", "HAIRPIN_DISABLED", "default/web", "HAIRPIN_DISABLED"),
                ("iptables", "PROXY_STALE", "default/web", "PROXY_STALE"),
                ("nftables", "PROXY_STALE", "default/web", "PROXY_STALE"),
            ])
        func faults(mode: String, fault: String, destination: String, code: String) throws {
            try Privilege.require()
            try fresh(mode)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let broken = try Binary.run(["lab", "break", fault])
            try #require(broken.status == 0, "\(broken.errorText)")
            // Hairpin concerns a pod reaching itself: pod-a is an endpoint of default/web.
            let source = fault == "HAIRPIN_DISABLED" ? "pod-a" : "pod-b"
            let (status, json) = try run("node1", ["trace", source, destination, "--timeout", "500"])
            // A stale entry traps its own flow only: the probe's new flow still gets through, but the
            // live flow it blackholes is an error (exit 1) all the same.
            #expect(status == 1, "\(mode) \(fault): \(codes(json))")
            if fault == "STALE_CONNTRACK" {
                #expect(json["reachable"]?.bool == true)
                #expect(
                    json["findings"]?.array?.contains { $0["code"]?.string == "STALE_CONNTRACK" && $0["severity"]?.string == "error" }
                        == true)
            }
            if fault == "STALE_CONNTRACK" || fault == "MASQUERADE_MISSING" || fault == "PROXY_STALE" {
                #expect(codes(try run("node1", ["services"]).json).contains(code))
            }
            #expect(codes(json).contains(code), "\(mode) \(fault): \(codes(json))")
            if fault == "ENDPOINT_UNREACHABLE" {
                // pod-a's endpoint answers; pod-c's does not, and its own trace says where.
                let endpoints = json["endpoints"]?.array ?? []
                #expect(endpoints.filter { $0["answers"]?.bool == true }.count == 1)
                let finding = try #require(json["findings"]?.array?.first { $0["code"]?.string == "ENDPOINT_UNREACHABLE" })
                #expect(finding["hop"]?.string == "10.244.2.2:8080")
            }
        }

        @Test("cross-node endpoints through the remote agent: the endpoint that does not answer is named with node2's own rule")
        func remoteEndpoint() throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up", "--proxy", "iptables", "--agents"], timeout: 120_000)
            try #require(up.status == 0, "\(up.errorText)")
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "ENDPOINT_UNREACHABLE"])
            let (status, json) = try run("node1", ["trace", "pod-b", "default/web", "--timeout", "500"])
            #expect(status == 1)
            let drop = try #require(json["findings"]?.array?.first { $0["code"]?.string == "FIREWALL_DROP" }, "\(codes(json))")
            #expect(drop["hop"]?.string == "node2")
            #expect(drop["evidence"]?.array?.first?.string?.contains("ENDPOINT_UNREACHABLE") == true)
            #expect(codes(json).contains("ENDPOINT_UNREACHABLE"))
        }

        @Test("bad input: a port the Service lacks, a Service that does not exist, no privileges: one line, the documented status")
        func badInput() throws {
            try Privilege.require()
            try fresh("iptables")
            defer { _ = try? Binary.run(["lab", "down"]) }
            for destination in ["default/web:9999", "nosuch/svc", "web:nosuch"] {
                let traced = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-b", destination])
                #expect(traced.status == 2, "\(destination): \(traced.errorText)")
                #expect(traced.errorText.split(separator: "\n").count == 1, "\(destination): \(traced.errorText)")
            }
            // Without privileges neither nf_tables nor iptables-save answers: one line, status 3, in
            // each mode (and in the trace that needs the table).
            for arguments in [["services"], ["services", "--proxy-mode", "nftables"], ["trace", "pod-b", "default/web"]] {
                let unprivileged = try Binary.run(
                    [
                        "lab", "exec", "node1", "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", Binary.path,
                    ] + arguments)
                #expect(unprivileged.status == 3, "\(arguments): \(unprivileged.errorText)")
                #expect(unprivileged.errorText.split(separator: "\n").count == 1, "\(arguments): \(unprivileged.errorText)")
            }
            let listed = try run("node1", ["services", "default/web:9999"])
            #expect(listed.status == 1 && codes(listed.json) == ["SERVICE_NOT_PROGRAMMED"])
            // A mode forced that has no rules here: nothing programmed, said so.
            let forced = try run("node1", ["services", "--proxy-mode", "nftables"])
            #expect(codes(forced.json).contains("SERVICE_NOT_PROGRAMMED"), "\(codes(forced.json))")
        }

        @Test("Service faults need the Services: refused on a lab without --proxy, with one line and status 3")
        func refusedWithoutServices() throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up"], timeout: 120_000)
            try #require(up.status == 0)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let refused = try Binary.run(["lab", "break", "SERVICE_NO_ENDPOINTS"])
            #expect(refused.status == 3 && refused.errorText.contains("--proxy"))
            // No kube-proxy state: a trace to an address and port says so (exit 1), a name is unknown (exit 2).
            let (status, json) = try run("node1", ["trace", "pod-b", "10.96.0.80:80"])
            #expect(status == 1 && codes(json) == ["SERVICE_NOT_PROGRAMMED"])
            #expect(try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-b", "default/web"]).status == 2)
        }
    }
}

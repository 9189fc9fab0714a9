import ConfigFormats
import Foundation
import NodeFiles
import TestSupport
import Testing

/// IPv6 and dual-stack on the real lab (lab up --family dual|6): host-local with a range per
/// family, IPv6 node routes or flannel-v6.1 over the IPv6 underlay, agents on [::]. Every trace is
/// judged per family; each fault's IPv6 half is named by the same code as its IPv4 half, on the
/// same hop, while the other family stays healthy; the faults only IPv6 has are named too.
extension PrivilegedSuite {
    @Suite("Privileged: IPv6 and dual-stack pods")
    struct IPv6LabTests {
        static let remote6 = ["overlay": "fd00:10:244:2::2", "routed": "fd00:10:245:2::2", "calico": "fd00:10:246:2::2"]
        static let remote4 = ["overlay": "10.244.2.2", "routed": "10.245.2.2", "calico": "10.246.2.2"]

        func up(_ topology: String, family: String) throws {
            let up = try Binary.run(["lab", "up", "--topology", topology, "--family", family, "--agents"], timeout: 120_000)
            try #require(up.status == 0, "lab up --topology \(topology) --family \(family): \(up.errorText)")
        }

        func run(_ arguments: [String], on node: String = "node1") throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor"] + arguments + ["-o", "json"], timeout: 60_000)
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func errors(_ json: ConfigValue) -> [String] {
            (json["findings"]?.array ?? []).filter { $0["severity"]?.string == "error" }.compactMap { finding in
                finding["code"]?.string.map { $0 + "@" + (finding["hop"]?.string ?? "") }
            }
        }

        func codes(_ json: ConfigValue) -> [String] { (json["findings"]?.array ?? []).compactMap { $0["code"]?.string } }

        func breakLab(_ fault: String, _ extra: [String] = []) throws {
            let broken = try Binary.run(["lab", "break", fault] + extra)
            try #require(broken.status == 0, "lab break \(fault) \(extra): \(broken.errorText)")
        }

        @Test(
            "healthy: every path in each family, on both topologies, dual-stack and IPv6-only; no false alarm",
            arguments: [("overlay", "dual"), ("overlay", "6"), ("routed", "dual"), ("routed", "6"), ("calico", "dual"), ("calico", "6")])
        func healthy(topology: String, family: String) throws {
            try Privilege.require()
            try up(topology, family: family)
            defer { _ = try? Binary.run(["lab", "down"]) }
            var paths = [
                ["trace", "pod-a", "pod-b"], ["trace", "pod-a", Self.remote6[topology]!], ["trace", "pod-b", "pod-a", "--port", "80"],
                ["mtu-probe", "pod-a", Self.remote6[topology]!], ["inspect", "pod-a"], ["inspect", "node"],
            ]
            if family == "dual" {
                paths.append(["trace", "pod-a", Self.remote4[topology]!])
                // A pod of another node by its podIPs: one trace per family, as for a named pod.
                paths.append(["trace", "pod-a", Self.remote4[topology]! + "," + Self.remote6[topology]!])
            }
            for arguments in paths {
                let (status, json) = try run(arguments)
                #expect(status == 0, "\(topology) \(family) \(arguments): \(codes(json))")
                #expect(codes(json).isEmpty, "\(topology) \(family) \(arguments): \(codes(json))")
            }
            // A pod named without a family is traced in each family it has, each with its verdict.
            let local = try run(["trace", "pod-a", "pod-b"]).json
            if family == "dual" {
                #expect(local["families"]?.array?.compactMap { $0["family"]?.int } == [4, 6])
                #expect(local["verdict"]?.string == "reachable in IPv4 and IPv6")
                #expect(local["reachable"]?.bool == true && local["hops"]?.array?.count == (topology == "overlay" ? 5 : 4))
            } else {
                #expect(local["family"]?.int == 6 && local["reachable"]?.bool == true)
            }
            // The remote half is the remote agent's, found at node2's IPv6 address.
            let remote = try run(["trace", "pod-a", Self.remote6[topology]!]).json
            let remoteHops = (remote["hops"]?.array ?? []).filter { $0["node"]?.string == "node2" }
            #expect(remoteHops.count >= 3 && remoteHops.allSatisfy { $0["requestSeen"]?.bool == true }, "\(remoteHops)")
            let device = ["overlay": "flannel-v6.1", "calico": "vxlan-v6.calico"][topology]
            if let device { #expect(remoteHops.contains { $0["interface"]?.string == device }, "\(remoteHops)") }
            let mtu = try run(["mtu-probe", "pod-a", Self.remote6[topology]!]).json
            #expect(mtu["paths"]?.array?.first?["pathMTU"]?.int == (topology == "routed" ? 1500 : 1430))
        }

        @Test(
            "each fault's IPv6 half, on node1 and node2: named as its IPv4 half is, the IPv4 path still healthy",
            arguments: [
                ("NO_ROUTE", "", "NO_ROUTE@node:"), ("IP_FORWARD_DISABLED", "", "IP_FORWARD_DISABLED@node"),
                ("NEIGHBOR_FAILED", "", "NEIGHBOR_FAILED@node:flannel-v6.1"),
                ("NEIGHBOR_MAC_MISMATCH", "", "NEIGHBOR_MAC_MISMATCH@pod-a:eth0"),
                ("OVERLAY_FDB_MISSING", "", "OVERLAY_FDB_MISSING@node:flannel-v6.1"), ("FIREWALL_DROP", "", "FIREWALL_DROP@node"),
                ("LOST_BEYOND_NODE", "", "FIREWALL_DROP@node2"), ("NO_ROUTE", "node2", "NO_ROUTE@pod-c:eth0"),
                ("IP_FORWARD_DISABLED", "node2", "IP_FORWARD_DISABLED@node2"), ("FIREWALL_DROP", "node2", "FIREWALL_DROP@node2"),
            ])
        func pathFaults(fault: String, node: String, expected: String) throws {
            try Privilege.require()
            try up("overlay", family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab(fault, ["--family", "6"] + (node.isEmpty ? [] : ["--node", node]))
            let (status, json) = try run(["trace", "pod-a", Self.remote6["overlay"]!])
            #expect(status == 1)
            #expect(errors(json).contains { $0.hasPrefix(expected) }, "\(fault) \(node): \(errors(json))")
            let v4 = try run(["trace", "pod-a", Self.remote4["overlay"]!])
            #expect(v4.status == 0 && errors(v4.json).isEmpty, "\(fault) \(node): IPv4 \(errors(v4.json))")
            if fault == "FIREWALL_DROP", node.isEmpty {
                let said =
                    (json["findings"]?.array ?? []).first { $0["code"]?.string == "FIREWALL_DROP" }?["evidence"]?.array?.compactMap(
                        \.string) ?? []
                #expect(said.contains { $0.contains("ip6tables") }, "\(said)")
            }
        }

        @Test("--trace-rules on an IPv6 probe: the ip6tables rule that dropped it, by its comment; nothing left behind")
        func traceRules() throws {
            try Privilege.require()
            try up("overlay", family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab("FIREWALL_DROP", ["--family", "6"])
            let (status, json) = try run(["trace", "pod-a", Self.remote6["overlay"]!, "--trace-rules"])
            #expect(status == 1)
            let rules = (json["ruleTrace"]?.array ?? []).flatMap { $0["rules"]?.array ?? [] }
            #expect(
                rules.contains { rule in
                    rule["family"]?.string == "ip6"
                        && rule["comments"]?.array?.contains { $0.string?.contains("FIREWALL_DROP (IPv6)") == true } == true
                }, "\(rules)")
            let left = try Binary.run(["lab", "exec", "node1", "--", "nft", "list", "tables"])
            #expect(!String(decoding: left.output, as: UTF8.self).contains("netdoctor-trace-"))
        }

        @Test("a pod pair healthy in IPv4 and broken in IPv6 says so plainly")
        func oneFamilyBroken() throws {
            try Privilege.require()
            try up("overlay", family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab("REPLY_MISSING", ["--family", "6"])
            let (status, json) = try run(["trace", "pod-a", "pod-b"])
            #expect(status == 1)
            #expect(json["verdict"]?.string == "reachable in IPv4, not in IPv6")
            #expect(json["reachable"]?.bool == false)
            let families = json["families"]?.array ?? []
            #expect(families.map { $0["reachable"]?.bool } == [true, false])
            #expect(errors(families.last ?? .null).contains("REPLY_MISSING@pod-b:eth0"), "\(errors(families.last ?? .null))")
            #expect(
                errors(json).allSatisfy { !$0.isEmpty }
                    && (json["findings"]?.array ?? []).allSatisfy { $0["message"]?.string?.hasPrefix("IPv6: ") == true })
            let narrowed = try run(["trace", "pod-a", "pod-b", "--family", "4"])
            #expect(narrowed.status == 0 && narrowed.json["family"]?.int == 4)
        }

        @Test("ICMPv6 packet too big dropped: PMTU_BLACKHOLE naming the ip6tables rule")
        func packetTooBigDropped() throws {
            try Privilege.require()
            try up("overlay", family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab("PMTU_BLACKHOLE", ["--family", "6"])
            let (status, json) = try run(["mtu-probe", "pod-a", Self.remote6["overlay"]!])
            #expect(status == 1)
            let blackhole = (json["findings"]?.array ?? []).first { $0["code"]?.string == "PMTU_BLACKHOLE" }
            let evidence = blackhole?["evidence"]?.array?.compactMap(\.string) ?? []
            #expect(blackhole?["message"]?.string?.contains("packet too big") == true, "\(codes(json))")
            #expect(
                evidence.contains { $0.contains("ip6tables") && $0.contains("--icmpv6-type 2") && $0.contains("PMTU_BLACKHOLE (IPv6)") },
                "\(evidence)")
            #expect(evidence.contains { $0.contains("flannel-v6.1") } && evidence.contains { $0.contains("70 overhead") }, "\(evidence)")
        }

        @Test(
            "routed and calico topologies: a missing IPv6 route, an ip6tables drop, an unanswered IPv6 next hop",
            arguments: [
                ("routed", "NO_ROUTE", "NO_ROUTE@node:"), ("routed", "FIREWALL_DROP", "FIREWALL_DROP@node"),
                ("routed", "NEIGHBOR_FAILED", "NEIGHBOR_FAILED@node:eth0"),
                ("calico", "NO_ROUTE", "NO_ROUTE@node:"), ("calico", "FIREWALL_DROP", "FIREWALL_DROP@node"),
                ("calico", "NEIGHBOR_FAILED", "NEIGHBOR_FAILED@node:eth0"),
            ])
        func otherTopologies(topology: String, fault: String, expected: String) throws {
            try Privilege.require()
            try up(topology, family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab(fault, ["--family", "6"])
            let (status, json) = try run(["trace", "pod-a", Self.remote6[topology]!])
            #expect(status == 1)
            #expect(errors(json).contains { $0.hasPrefix(expected) }, "\(topology) \(fault): \(errors(json))")
            let v4 = try run(["trace", "pod-a", Self.remote4[topology]!])
            #expect(v4.status == 0, "\(topology) \(fault): IPv4 \(errors(v4.json))")
        }

        @Test("capture on an IPv6 pod: ICMPv6 echoes and neighbour discovery, in a pcapng file tshark reads")
        func capture() throws {
            try Privilege.require()
            try up("overlay", family: "6")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let file = "/tmp/netdoctor-ipv6-capture-\(getpid()).pcapng"
            defer { unlink(file) }
            let pinging = Thread {
                _ = try? Binary.run(["lab", "exec", "pod-a", "--", "sh", "-c", "sleep 1; ping -6 -c 3 -i 0.2 fd00:10:244:1::3"])
            }
            pinging.start()
            let captured = try Binary.run(
                [
                    "lab", "exec", "node1", "--", "netdoctor", "capture", "pod-a", "--filter", "icmp6", "--duration", "3",
                    "--write", file, "-o", "json",
                ], timeout: 20_000)
            #expect(captured.status == 0, "\(captured.errorText)")
            let read = try #require(
                ChildProcess.run(
                    "/usr/bin/tshark", arguments: ["-r", file, "-T", "fields", "-e", "icmpv6.type"],
                    environment: ["PATH=/usr/bin:/bin"], timeoutMilliseconds: 20_000))
            let types = read.outputText.split(separator: "\n").map(String.init)
            #expect(types.contains("128") && types.contains("129"), "\(types)")  // echo request and reply
        }

        @Test(
            "faults only IPv6 has: a dadfailed and a tentative pod address, router advertisements ignored while forwarding",
            arguments: [
                ("ADDRESS_DADFAILED", "ADDRESS_DADFAILED"), ("ADDRESS_TENTATIVE", "ADDRESS_TENTATIVE"),
                ("IPV6_RA_IGNORED", "IPV6_RA_IGNORED"),
            ])
        func ipv6Only(fault: String, code: String) throws {
            try Privilege.require()
            try up("overlay", family: "6")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab(fault)
            let (_, json) = try run(["trace", "pod-a", "pod-b"])
            #expect(codes(json).contains(code), "\(fault): \(codes(json))")
            switch fault {
            case "ADDRESS_TENTATIVE":
                // The gateway-less on-link next hop is unanswered while pod-b's address is tentative.
                #expect(errors(json).contains("NEIGHBOR_FAILED@pod-a:eth0"), "\(errors(json))")
                #expect(codes(try run(["inspect", "pod-b"]).json).contains(code))
            case "ADDRESS_DADFAILED":
                #expect(codes(try run(["inspect", "pod-b"]).json).contains(code))
            default:
                let inspect = try run(["inspect", "node"])
                #expect(inspect.status == 1 && codes(inspect.json).contains(code), "\(codes(inspect.json))")
                let routes = inspect.json["routes"]?.array ?? []
                #expect(routes.contains { $0["protocol"]?.string == "ra" && ($0["expires"]?.int ?? 0) > 0 }, "\(routes)")
            }
        }

        @Test(
            "a missing pod-subnet route falling through to an RA-learned default route is NO_ROUTE, not a loss beyond the node",
            arguments: [("overlay", "NO_ROUTE@node:"), ("calico", "NO_ROUTE@node:")])
        func fallThrough(topology: String, expected: String) throws {
            try Privilege.require()
            try up(topology, family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab("NO_ROUTE", ["--family", "6"])
            let (status, json) = try run(["trace", "pod-a", Self.remote6[topology]!])
            #expect(status == 1)
            #expect(errors(json).count == 1 && errors(json).first?.hasPrefix(expected) == true, "\(topology): \(errors(json))")
            let finding = (json["findings"]?.array ?? []).first { $0["code"]?.string == "NO_ROUTE" }
            #expect(finding?["message"]?.string?.contains("falls through to default via") == true, "\(finding ?? .null)")
            #expect(!errors(json).contains { $0.hasPrefix("LOST_BEYOND_NODE") })
        }

        @Test("router advertisements ignored after the RA route expired: the configuration alone is the evidence")
        func raIgnoredExpired() throws {
            try Privilege.require()
            try up("overlay", family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            #expect(try run(["inspect", "node"]).status == 0)
            try breakLab("IPV6_RA_IGNORED")
            // What the kernel does when the route's lifetime ends: the route goes.
            let expired = try Binary.run(["lab", "exec", "node1", "--", "ip", "-6", "route", "del", "default", "proto", "ra"])
            try #require(expired.status == 0, "\(expired.errorText)")
            let (status, json) = try run(["inspect", "node"])
            #expect(status == 1 && errors(json) == ["IPV6_RA_IGNORED@node:eth0"], "\(errors(json))")
            let finding = (json["findings"]?.array ?? []).first { $0["code"]?.string == "IPV6_RA_IGNORED" }
            #expect(
                finding?["message"]?.string?.contains("no IPv6 default route") == true
                    && finding?["remedy"]?.string?.contains("accept_ra=2") == true)
        }

        @Test(
            "a next hop pinned by a static neighbour entry to a MAC it no longer has: NEIGHBOR_MAC_MISMATCH in each family (NDP and ARP)",
            arguments: ["6", "4"])
        func staticNeighbor(family: String) throws {
            try Privilege.require()
            try up("routed", family: "dual")
            defer { _ = try? Binary.run(["lab", "down"]) }
            try breakLab("NEIGHBOR_MAC_MISMATCH_STATIC", ["--family", family])
            let destination = family == "6" ? Self.remote6["routed"]! : Self.remote4["routed"]!
            let (status, json) = try run(["trace", "pod-a", destination])
            #expect(status == 1)
            #expect(errors(json) == ["NEIGHBOR_MAC_MISMATCH@node:eth0"], "\(family): \(errors(json))")
            // The other family's path is untouched.
            let other = try run(["trace", "pod-a", family == "6" ? Self.remote4["routed"]! : Self.remote6["routed"]!])
            #expect(other.status == 0, "\(errors(other.json))")
        }

        @Test("an IPv6-only pod has no IPv4 to probe from: exit 2 saying so; --family with the wrong address family too")
        func wrongFamily() throws {
            try Privilege.require()
            try up("overlay", family: "6")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", "10.244.2.2"])
            #expect(result.status == 2 && result.errorText.contains("no IPv4 address"), "\(result.errorText)")
            let mismatch = try Binary.run([
                "lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", Self.remote6["overlay"]!, "--family", "4",
            ])
            #expect(mismatch.status == 2, "\(mismatch.errorText)")
        }

        @Test(
            "dual-stack Services: kube-proxy's IPv6 halves read beside the IPv4 ones, traced through their DNAT to IPv6 endpoints, AAAA in dns",
            arguments: ["iptables", "nftables"])
        func services(mode: String) throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up", "--family", "dual", "--proxy", mode, "--agents"], timeout: 120_000)
            try #require(up.status == 0, "lab up --family dual --proxy \(mode): \(up.errorText)")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let listed = try run(["services", "default/web"])
            #expect(listed.status == 0, "\(codes(listed.json))")
            let frontends = (listed.json["services"]?.array ?? []).flatMap { $0["frontends"]?.array ?? [] }.compactMap {
                $0["address"]?.string
            }
            #expect(frontends.contains("10.96.0.80") && frontends.contains("fd00:96::80"), "\(frontends)")
            let endpoints = (listed.json["services"]?.array ?? []).flatMap { $0["endpoints"]?.array ?? [] }.compactMap {
                $0["address"]?.string
            }
            #expect(endpoints.contains("fd00:10:244:1::2") && endpoints.contains("fd00:10:244:2::2"), "\(endpoints)")
            // Through the IPv6 ClusterIP: the DNAT, and both IPv6 endpoints (pod-c's on node2) answer.
            let traced = try run(["trace", "pod-b", "[fd00:96::80]:80"])
            #expect(traced.status == 0, "\(codes(traced.json))")
            #expect(
                traced.json["endpoints"]?.array?.count == 2
                    && traced.json["endpoints"]?.array?.allSatisfy { $0["answers"]?.bool == true } == true)
            // The name's AAAA record, and a trace to it in IPv6.
            let dns = try run(["dns", "pod-b", "web"])
            #expect(
                dns.json["resolution"]?["addresses"]?.array?.compactMap(\.string).contains("fd00:96::80") == true,
                "\(dns.json["resolution"] ?? .null)")
            let named = try run(["trace", "pod-b", "web.default.svc.cluster.local:80", "--family", "6"])
            #expect(named.status == 0, "\(codes(named.json))")
            // No endpoints: kube-proxy's next sync empties both families.
            try breakLab("SERVICE_NO_ENDPOINTS")
            let empty = try run(["trace", "pod-b", "[fd00:96::80]:80"])
            #expect(empty.status == 1 && codes(empty.json).contains("SERVICE_NO_ENDPOINTS"), "\(codes(empty.json))")
        }
    }
}

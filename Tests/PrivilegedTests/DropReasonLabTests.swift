import ConfigFormats
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension PrivilegedSuite {
    /// trace --drop-reasons on the lab: the kernel's own reason for each lost probe, the BPF
    /// programs on the path, and nothing left behind.
    @Suite("Privileged: the kernel's drop reasons and the BPF programs on the path")
    struct DropReasonLabTests {
        func trace(_ arguments: [String], node: String = "node1") throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor", "trace"] + arguments + ["-o", "json"], timeout: 60_000)
            #expect(result.errorText.isEmpty, "\(arguments): \(result.errorText)")
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func findings(_ json: ConfigValue, _ severity: String = "error") -> [(code: String, hop: String, evidence: [String])] {
            (json["findings"]?.array ?? []).compactMap { finding in
                guard finding["severity"]?.string == severity, let code = finding["code"]?.string else { return nil }
                return (code, finding["hop"]?.string ?? "", finding["evidence"]?.array?.compactMap(\.string) ?? [])
            }
        }

        func up(_ options: [String] = []) throws {
            let up = try Binary.run(["lab", "up"] + options, timeout: 120_000)
            try #require(up.status == 0, "lab up: \(up.errorText)")
        }

        /// No program, map or link of netdoctor's own is left in the kernel. The kernel frees them a
        /// moment after their last reference goes (RCU): asked again for up to two seconds.
        func nothingLeft(_ names: [String] = ["netdoctor_drop_", "drop_events", "probe_flows"]) throws {
            var left: [String] = []
            for attempt in 0..<20 {
                let shown = try sh(["bpftool", "prog", "show"]) + (try sh(["bpftool", "map", "show"]))
                left = names.filter { shown.contains($0) }
                if left.isEmpty { break }
                if attempt < 19 { usleep(100_000) }
            }
            #expect(left.isEmpty, "left behind: \(left)")
        }

        @Test("BPF_DROP, both families: named as the likely cause without --drop-reasons, as the cause with; the hop shows the program")
        func bpfDrop() throws {
            try Privilege.require()
            for family in ["4", "6"] {
                try up(["--family", "dual"])
                defer { _ = try? Binary.run(["lab", "down"]) }
                try #require(try Binary.run(["lab", "break", "BPF_DROP", "--family", family]).status == 0)
                let plain = try trace(["pod-a", "pod-b", "--family", family, "--timeout", "500"])
                #expect(plain.status == 1)
                #expect(plain.json["reachable"]?.bool == false)
                let likely = findings(plain.json, "warning").filter { $0.code == "BPF_PROGRAM_DROP" }
                #expect(likely.count == 1, "IPv\(family): \(findings(plain.json, "warning"))")
                #expect(likely.first?.evidence.contains { $0.contains("tc egress: lab_drop_probe") } == true)
                #expect(findings(plain.json).isEmpty, "IPv\(family): \(findings(plain.json))")
                let hop = (plain.json["hops"]?.array ?? []).first { $0["role"]?.string == "destination host side" }
                #expect(hop?["programs"]?.array?.first?["name"]?.string == "lab_drop_probe")
                #expect(hop?["programs"]?.array?.first?["point"]?.string == "tc egress")

                let asked = try trace(["pod-a", "pod-b", "--family", family, "--timeout", "500", "--drop-reasons"])
                #expect(asked.status == 1)
                let errors = findings(asked.json)
                #expect(errors.map(\.code) == ["BPF_PROGRAM_DROP"], "IPv\(family): \(errors)")
                #expect(errors.first?.hop.hasPrefix("node:veth") == true)
                #expect(errors.first?.evidence.first?.contains("TC_EGRESS") == true)
                let drops = asked.json["kernelDrops"]?.array ?? []
                #expect(drops.contains { $0["reason"]?.string == "TC_EGRESS" && $0["copy"]?.bool == false })
                try nothingLeft()
            }
        }

        @Test("RP_FILTER: RP_FILTER_DROP where the request came in, with the route back as the check found it")
        func reversePath() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "RP_FILTER"]).status == 0)
            let (status, json) = try trace(["pod-a", "10.244.2.2", "--timeout", "500", "--drop-reasons"])
            #expect(status == 1)
            let errors = findings(json)
            #expect(errors.map(\.code) == ["RP_FILTER_DROP"], "\(errors)")
            #expect(errors.first?.hop == "node:cni0")
            #expect(errors.first?.evidence.contains("the route back to 10.244.1.2 leaves by eth0 via 192.168.77.2") == true)
        }

        @Test(
            "the faults netfilter, routes and sockets explain: the kernel's reason agrees with the verdict they already have",
            arguments: [
                ("FIREWALL_DROP", ["pod-a", "10.244.2.2"]), ("NO_ROUTE", ["pod-a", "10.244.2.2"]),
                ("IP_FORWARD_DISABLED", ["pod-a", "10.244.2.2"]), ("PORT_CLOSED", ["pod-b", "pod-a", "--port", "80"]),
            ])
        func agreement(fault: String, arguments: [String]) throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", fault]).status == 0)
            let (status, json) = try trace(arguments + ["--timeout", "500", "--drop-reasons"])
            #expect(status == 1)
            let errors = findings(json)
            #expect(errors.map(\.code) == [fault], "\(fault): \(errors)")
            #expect(errors.first?.evidence.contains { $0.hasSuffix("the kernel agrees") } == true, "\(fault): \(errors)")
        }

        @Test("NEIGHBOR_FAILED: the request, masqueraded as it left, freed when resolution fails (three seconds on): the kernel agrees")
        func neighborFailed() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "NEIGHBOR_FAILED"]).status == 0)
            let (_, json) = try trace(["pod-a", "10.244.2.2", "--timeout", "5000", "--drop-reasons"])
            let errors = findings(json)
            #expect(errors.map(\.code) == ["NEIGHBOR_FAILED"])
            #expect(
                errors.first?.evidence.contains { $0.contains("NEIGH_FAILED") && $0.hasSuffix("the kernel agrees") } == true, "\(errors)")
        }

        @Test("the healthy lab, both families and protocols: no drop of the probe reported, copies kept apart, nothing left behind")
        func healthy() throws {
            try Privilege.require()
            try up(["--family", "dual"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            for arguments in [
                ["pod-a", "pod-b", "--family", "4"], ["pod-a", "pod-b", "--family", "6"], ["pod-a", "10.244.2.2"],
                ["pod-b", "pod-a", "--port", "80", "--family", "4"],
            ] {
                let (status, json) = try trace(arguments + ["--drop-reasons"])
                #expect(status == 0, "\(arguments): \(findings(json))")
                #expect(json["reachable"]?.bool == true)
                #expect(
                    !(json["findings"]?.array ?? []).contains {
                        ["KERNEL_DROP", "BPF_PROGRAM_DROP", "RP_FILTER_DROP"].contains($0["code"]?.string)
                    })
                #expect((json["kernelDrops"]?.array ?? []).allSatisfy { $0["copy"]?.bool == true }, "\(arguments)")
            }
            try nothingLeft()
        }

        @Test("a run killed while its program is attached leaves nothing: the kernel drops it with the process's descriptors")
        func killed() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "FIREWALL_DROP"]).status == 0)
            // SIGKILL'd (the run's process group) two seconds into a five-second probe.
            let killed = try Binary.run(
                ["lab", "exec", "node1", "--", "netdoctor", "trace", "pod-a", "10.244.2.2", "--timeout", "5000", "--drop-reasons"],
                timeout: 2_000)
            #expect(killed.status != 0)
            usleep(200_000)
            try nothingLeft()
        }

        @Test("across nodes: with agents, node2's kernel names the drop on its half; without, this node's view says it is not here")
        func remoteHalf() throws {
            try Privilege.require()
            try up(["--agents"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "BPF_DROP", "--node", "node2"]).status == 0)
            let (status, json) = try trace(["pod-a", "10.244.2.2", "--timeout", "500", "--drop-reasons"])
            #expect(status == 1)
            let errors = findings(json)
            #expect(errors.map(\.code) == ["BPF_PROGRAM_DROP"], "\(errors)")
            #expect(errors.first?.hop.hasPrefix("node2:veth") == true)
            #expect(errors.first?.evidence.contains { $0.contains("lab_drop_probe") } == true)
            // The same lab without asking the agent: the drop is past this node (the request
            // arrives there masqueraded, so even this shared kernel's drop is not the probe's pair).
            let alone = try trace(["pod-a", "10.244.2.2", "--timeout", "500", "--drop-reasons", "--no-agent"])
            #expect(findings(alone.json).map(\.code) == ["LOST_BEYOND_NODE"], "\(findings(alone.json))")
        }

        @Test(
            "BPF_DROP_TCX: a pinned tcx link, as Cilium 1.16+ attaches, found by BPF_PROG_QUERY where tc shows nothing; lab down unpins it")
        func tcx() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "BPF_DROP_TCX"]).status == 0)
            let plain = try trace(["pod-a", "pod-b", "--timeout", "500"])
            let hop = (plain.json["hops"]?.array ?? []).first { $0["role"]?.string == "destination host side" }
            #expect(hop?["programs"]?.array?.first?["point"]?.string == "tcx egress")
            // The link that holds it, as bpftool link show lists it.
            let link = try #require(hop?["programs"]?.array?.first?["linkID"]?.int)
            #expect(try sh(["bpftool", "link", "show", "id", String(link)]).contains("type 11"))
            #expect(findings(plain.json, "warning").map(\.code) == ["BPF_PROGRAM_DROP"])
            let asked = try trace(["pod-a", "pod-b", "--timeout", "500", "--drop-reasons"])
            #expect(findings(asked.json).map(\.code) == ["BPF_PROGRAM_DROP"])
            #expect(findings(asked.json).first?.evidence.contains { $0.contains("tcx egress: lab_drop_probe") } == true)
            _ = try Binary.run(["lab", "down"])
            #expect(NodeRoot("/").status("/sys/fs/bpf/netdoctor-lab") == nil)
            try nothingLeft(["lab_drop_probe"])
        }

        @Test(
            "CILIUM_DROP (the lab's stand-in of a policy drop): POLICY_DENIED from Cilium's own counter, its reason, direction and file; the kernel's drop folded in; lab down unmounts"
        )
        func ciliumDrop() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "CILIUM_DROP"]).status == 0)
            // An ipcache of Cilium's layout (1.14-1.17) beside the stand-in's counters: pod-a is identity 5678.
            let globals = "/var/lib/netdoctor-lab/node1/sys/fs/bpf/tc/globals"
            _ = try sh([
                "bpftool", "map", "create", globals + "/cilium_ipcache", "type", "lpm_trie", "key", "24", "value", "12", "entries", "64",
                "name", "cilium_ipcache", "flags", "1",
            ])
            _ = try sh(
                [
                    "bpftool", "map", "update", "pinned", globals + "/cilium_ipcache", "key", "hex", "40", "00", "00", "00", "00", "00",
                    "00", "01",
                ]
                    + ["0a", "f4", "01", "02"] + Array(repeating: "00", count: 12)
                    + ["value", "hex", "2e", "16", "00", "00"] + Array(repeating: "00", count: 8))
            // pod-b as Cilium's endpoint 1234, whose policy (1.17's map) allows only identity 9999 TCP 80.
            let podB = try #require(
                (try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)["pods"]?.array ?? []).first {
                    $0["name"]?.string == "pod-b"
                }?["hostInterface"]?.string)
            let index = try #require(
                UInt32(try sh(["ip", "-n", "ndlab-node1", "-o", "link", "show", podB]).split(separator: ":").first ?? ""))
            let le = { (value: UInt32, count: Int) in (0..<count).map { String(format: "%02x", Int(value >> (8 * UInt32($0)) & 0xFF)) } }
            _ = try sh([
                "bpftool", "map", "create", globals + "/cilium_lxc", "type", "hash", "key", "20", "value", "48", "entries", "64", "name",
                "cilium_lxc",
            ])
            var value = le(index, 4) + ["00", "00"] + le(1234, 2) + Array(repeating: "00", count: 24) + le(4321, 4)
            value += Array(repeating: "00", count: 48 - value.count)
            _ = try sh(
                ["bpftool", "map", "update", "pinned", globals + "/cilium_lxc", "key", "hex", "0a", "f4", "01", "03"]
                    + Array(repeating: "00", count: 12)
                    + ["01", "00", "00", "00", "value", "hex"] + value)
            _ = try sh([
                "bpftool", "map", "create", globals + "/cilium_policy_v2_01234", "type", "lpm_trie", "key", "12", "value", "24", "entries",
                "64",
                "name", "cilium_policy_v", "flags", "1",
            ])
            _ = try sh(
                ["bpftool", "map", "update", "pinned", globals + "/cilium_policy_v2_01234", "key", "hex", "40", "00", "00", "00"]
                    + le(9999, 4)
                    + ["00", "06", "00", "50", "value", "hex"] + Array(repeating: "00", count: 24))
            for options in [[], ["--drop-reasons"]] {
                let (status, json) = try trace(["pod-a", "pod-b", "--timeout", "500"] + options)
                #expect(status == 1)
                // pod-b's endpoint (made above) has no cil_from_container on its veth: said; pod-a is
                // no endpoint of Cilium's and runs none of its programs: not judged.
                let all = findings(json)
                #expect(Set(all.map(\.code)) == ["POLICY_DENIED", "CILIUM_ENDPOINT_NOT_READY"], "\(options): \(all)")
                #expect(all.filter { $0.code == "CILIUM_ENDPOINT_NOT_READY" }.count == 1)
                let errors = all.filter { $0.code == "POLICY_DENIED" }
                #expect(errors.first?.hop.hasPrefix("node:veth") == true)
                #expect(errors.first?.evidence.first?.contains("reason 133 \"Policy denied\", ingress, bpf_lxc.c:") == true)
                #expect(errors.first?.evidence.contains("ipcache: 10.244.1.2 is identity 5678") == true, "\(errors)")
                #expect(errors.first?.evidence.contains("ipcache: no entry for 10.244.1.3 (the datapath takes it as world)") == true)
                #expect(
                    errors.first?.evidence.contains(
                        "cilium_policy_v2_01234 of endpoint 1234, replayed for ingress from identity 5678: no entry for that identity nor for any identity (133, Policy denied)"
                    ) == true, "\(errors.first?.evidence ?? [])")
                if !options.isEmpty { #expect(errors.first?.evidence.contains { $0.contains("TC_EGRESS") } == true) }
            }
            // Elsewhere on the node nothing is Cilium's: pod-a to pod-c is not dropped nor counted.
            let other = try trace(["pod-a", "10.244.2.2", "--timeout", "500"])
            #expect(!(other.json["findings"]?.array ?? []).contains { ["CILIUM_DROP", "POLICY_DENIED"].contains($0["code"]?.string) })
            _ = try Binary.run(["lab", "down"])
            #expect(NodeRoot("/").status("/var/lib/netdoctor-lab/node1/sys/fs/bpf/tc/globals/cilium_metrics") == nil)
        }

        @Test(
            "CALICO_EBPF_DROP (the lab's stand-in): Calico's counter names the reason at the hop; with --drop-reasons one finding; lab down unmounts"
        )
        func calicoDrop() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "CALICO_EBPF_DROP"]).status == 0)
            for options in [[], ["--drop-reasons"]] {
                let (status, json) = try trace(["pod-a", "pod-b", "--timeout", "500"] + options)
                #expect(status == 1)
                let errors = findings(json)
                #expect(errors.map(\.code) == ["POLICY_DENIED"], "\(options): \(errors)")
                #expect(errors.first?.hop.hasPrefix("node:veth") == true)
                #expect(
                    errors.first?.evidence.first?.hasPrefix("cali_counters3 (Calico 3.30): interface ") == true
                        && errors.first?.evidence.first?.contains("tc egress: \"Dropped by policy\" +1") == true,
                    "\(errors.first?.evidence ?? [])")
            }
            // Elsewhere on the path nothing is Calico's: pod-a to pod-c passes, and nothing is said.
            let other = try trace(["pod-a", "10.244.2.2", "--timeout", "500"])
            #expect(other.status == 0)
            #expect(!(other.json["findings"]?.array ?? []).contains { ["BPF_PROGRAM_DROP", "POLICY_DENIED"].contains($0["code"]?.string) })
            _ = try Binary.run(["lab", "down"])
            #expect(NodeRoot("/").status("/var/lib/netdoctor-lab/node1/sys/fs/bpf/tc/globals/cali_counters3") == nil)
        }

        @Test("inspect lists each interface's programs: the lab's tc program on pod-b's host veth, with its id, tag and owner")
        func inspectPrograms() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "BPF_DROP"]).status == 0)
            let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "node", "-o", "json"], timeout: 30_000)
            let json = try JSONParser.parse(bytes: result.output)
            let interfaces = json["interfaces"]?.array ?? []
            let withPrograms = interfaces.filter { !($0["programs"]?.array ?? []).isEmpty }
            #expect(withPrograms.count == 1, "\(withPrograms.map { $0["name"]?.string ?? "?" })")
            let program = withPrograms.first?["programs"]?.array?.first
            #expect(program?["name"]?.string == "lab_drop_probe")
            #expect(program?["point"]?.string == "tc egress")
            #expect(program?["owner"]?.string?.hasPrefix("netdoctor lab") == true)
            #expect(program?["directAction"]?.bool == true)
            let text = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "node"], timeout: 30_000)
            #expect(String(decoding: text.output, as: UTF8.self).contains("lab_drop_probe"))
        }
    }
}

import ConfigFormats
import NodeFiles
import TestSupport
import Testing

/// `lab break` on the real lab, and what detect-cni and inspect say about each fault they can see.
/// (trace, mtu-probe and capture diagnose the path faults; their issues test those.)
extension PrivilegedSuite {
    @Suite("Privileged: lab faults seen by detect-cni and inspect")
    struct LabFaultTests {
        func run(_ node: String, _ arguments: [String]) throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor"] + arguments + ["-o", "json"])
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        func codes(_ json: ConfigValue, severity: String? = nil) -> [String] {
            (json["findings"]?.array ?? []).filter { severity == nil || $0["severity"]?.string == severity }.compactMap {
                $0["code"]?.string
            }
        }

        func fresh(_ topology: String = "overlay") throws {
            let up = try Binary.run(["lab", "up", "--topology", topology], timeout: 120_000)
            try #require(up.status == 0, "lab up: \(up.errorText)")
        }

        @Test(
            "a healthy lab node: detect-cni finds the lab's network, its MTU, the overlay, and no error", arguments: ["overlay", "routed"])
        func healthy(topology: String) throws {
            try Privilege.require()
            try fresh(topology)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (status, json) = try run("node1", ["detect-cni"])
            #expect(status == 0, "\(codes(json))")
            #expect(codes(json, severity: "error").isEmpty)
            #expect(json["cni"]?.string == (topology == "overlay" ? "bridge" : "ptp"))
            #expect(json["activeConfig"]?.string == "/etc/cni/net.d/10-lab-\(topology).conflist")
            #expect(json["encapsulation"]?.string == (topology == "overlay" ? "vxlan" : "none"))
            #expect(json["mtu"]?.int == (topology == "overlay" ? 1450 : 1500))
            #expect(json["uplinkMTU"]?.int == 1500)
            #expect(json["plugins"]?.array?.compactMap(\.string) == [topology == "overlay" ? "bridge" : "ptp", "portmap"])
            for node in ["node1", "node2"] {
                let inspect = try run(node, ["inspect", "node"])
                #expect(inspect.status == 0, "\(codes(inspect.json))")
            }
        }

        @Test(
            "config faults: detect-cni names each",
            arguments: [
                ("CNI_NO_CONFIG", "CNI_NO_CONFIG"), ("CNI_CONFIG_INVALID", "CNI_CONFIG_INVALID"),
                ("CNI_VERSION_UNSUPPORTED", "CNI_VERSION_UNSUPPORTED"), ("CNI_BINARY_MISSING", "CNI_BINARY_MISSING"),
                ("CNI_MULTIPLE_CONFIGS", "CNI_MULTIPLE_CONFIGS"), ("CNI_STALE_CONFIG", "CNI_STALE_CONFIG"),
                ("RUNTIME_CONFIG_INVALID", "RUNTIME_CONFIG_INVALID"), ("KUBELET_CONFIG_INVALID", "KUBELET_CONFIG_INVALID"),
                ("CNI_MTU_TOO_LARGE", "CNI_MTU_TOO_LARGE"),
            ])
        func configFaults(fault: String, code: String) throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            let broken = try Binary.run(["lab", "break", fault])
            try #require(broken.status == 0, "\(broken.errorText)")
            let (status, json) = try run("node1", ["detect-cni", "--query-plugins"])
            #expect(codes(json).contains(code), "\(fault): \(codes(json))")
            if code != "CNI_MULTIPLE_CONFIGS" { #expect(status == 1) }
            // node2 is untouched.
            #expect(try run("node2", ["detect-cni"]).status == 0)
        }

        @Test(
            "path faults inspect can see on a pod or node",
            arguments: [
                ("LINK_DOWN", "pod-a", "LINK_DOWN"), ("BRIDGE_PORT_MISSING", "pod-a", "BRIDGE_PORT_MISSING"),
                ("IP_FORWARD_DISABLED", "node", "IP_FORWARD_DISABLED"),
            ])
        func inspectFaults(fault: String, target: String, code: String) throws {
            try Privilege.require()
            try fresh()
            defer { _ = try? Binary.run(["lab", "down"]) }
            #expect(try run("node1", ["inspect", target]).status == 0)
            _ = try Binary.run(["lab", "break", fault])
            let (status, json) = try run("node1", ["inspect", target])
            #expect(codes(json).contains(code), "\(fault): \(codes(json))")
            #expect(status == 1)
        }

        @Test("lab break lists every contract code, and refuses what the topology lacks")
        func faultList() throws {
            let help = try Binary.run(["lab", "break", "--help"])
            for code in [
                "LINK_DOWN", "NO_ROUTE", "IP_FORWARD_DISABLED", "NEIGHBOR_FAILED", "NEIGHBOR_MAC_MISMATCH", "BRIDGE_PORT_MISSING",
                "OVERLAY_FDB_MISSING", "FIREWALL_DROP", "DUPLICATE_IP", "MTU_MISMATCH", "PMTU_BLACKHOLE", "LOST_BEYOND_NODE",
                "REPLY_MISSING", "PORT_CLOSED", "CNI_NO_CONFIG", "CNI_CONFIG_INVALID", "CNI_VERSION_UNSUPPORTED",
                "CNI_BINARY_MISSING", "CNI_MULTIPLE_CONFIGS", "CNI_STALE_CONFIG", "RUNTIME_CONFIG_INVALID",
                "KUBELET_CONFIG_INVALID", "CNI_MTU_TOO_LARGE",
            ] {
                #expect(help.outputText.contains(code), "\(code) missing from lab break --help")
            }
            try Privilege.require()
            try fresh("routed")
            defer { _ = try? Binary.run(["lab", "down"]) }
            let refused = try Binary.run(["lab", "break", "OVERLAY_FDB_MISSING"])
            #expect(refused.status == 3)
            #expect(refused.errorText.contains("overlay"))
        }

        @Test("every fault applies cleanly on the topologies it fits", arguments: ["overlay", "routed"])
        func everyFaultApplies(topology: String) throws {
            try Privilege.require()
            let faults = [
                "LINK_DOWN", "NO_ROUTE", "IP_FORWARD_DISABLED", "NEIGHBOR_FAILED", "NEIGHBOR_MAC_MISMATCH", "BRIDGE_PORT_MISSING",
                "OVERLAY_FDB_MISSING", "FIREWALL_DROP", "DUPLICATE_IP", "MTU_MISMATCH", "PMTU_BLACKHOLE", "LOST_BEYOND_NODE",
                "REPLY_MISSING", "PORT_CLOSED",
            ]
            let overlayOnly: Set = ["BRIDGE_PORT_MISSING", "OVERLAY_FDB_MISSING", "DUPLICATE_IP"]
            for fault in faults where topology == "overlay" || !overlayOnly.contains(fault) {
                try fresh(topology)
                let result = try Binary.run(["lab", "break", fault])
                #expect(result.status == 0, "\(topology) \(fault): \(result.errorText)")
                let status = try Binary.run(["lab", "status", "-o", "json"])
                #expect(try JSONParser.parse(bytes: status.output)["faults"]?.array?.contains(.string(fault)) == true)
            }
            _ = try Binary.run(["lab", "down"])
            #expect(!(try sh(["ip", "netns", "list"]).contains("ndlab")))
        }
    }
}

import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    /// Cilium's endpoints read from a cilium_lxc of Cilium's layout, made and filled with bpftool
    /// under node1's root as Cilium pins it (a bpffs of the test's own): what inspect says of a pod
    /// the map has, and of one it does not.
    @Suite("Privileged: Cilium's endpoints (cilium_lxc) judged against the pods' veths")
    struct CiliumEndpointTests {
        static let root = "/var/lib/netdoctor-lab/node1"

        func hex(_ value: UInt32, bytes: Int) -> [String] {
            (0..<bytes).map { String(format: "%02x", Int(value >> (8 * UInt32($0)) & 0xFF)) }
        }

        @Test("pod-a with its endpoint but no cil_from_container on its veth; pod-b with no endpoint; both CILIUM_ENDPOINT_NOT_READY")
        func endpoints() throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up"], timeout: 120_000)
            try #require(up.status == 0, "lab up: \(up.errorText)")
            let globals = Self.root + "/sys/fs/bpf/tc/globals"
            defer {
                _ = try? sh(["umount", "-l", Self.root + "/sys/fs/bpf"])
                _ = try? Binary.run(["lab", "down"])
            }
            _ = try sh(["mkdir", "-p", Self.root + "/sys/fs/bpf"])
            _ = try sh(["mount", "-t", "bpf", "bpf", Self.root + "/sys/fs/bpf"])
            _ = try sh(["mkdir", "-p", globals])
            _ = try sh([
                "bpftool", "map", "create", globals + "/cilium_metrics", "type", "percpu_hash", "key", "8", "value", "16", "entries",
                "1024", "name", "cilium_metrics",
            ])
            _ = try sh([
                "bpftool", "map", "create", globals + "/cilium_lxc", "type", "hash", "key", "20", "value", "48", "entries", "64", "name",
                "cilium_lxc",
            ])
            let status = try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)
            let podA = try #require((status["pods"]?.array ?? []).first { $0["name"]?.string == "pod-a" })
            let veth = try #require(podA["hostInterface"]?.string)
            let index = try #require(
                UInt32(try sh(["ip", "-n", "ndlab-node1", "-o", "link", "show", veth]).split(separator: ":").first ?? ""))
            // endpoint_key: 10.244.1.2, family 1; endpoint_info: ifindex, lxc_id 1234, sec_id 5678.
            let key = ["0a", "f4", "01", "02"] + Array(repeating: "00", count: 12) + ["01", "00", "00", "00"]
            var value = hex(index, bytes: 4) + ["00", "00"] + hex(1234, bytes: 2) + Array(repeating: "00", count: 24) + hex(5678, bytes: 4)
            value += Array(repeating: "00", count: 48 - value.count)
            _ = try sh(["bpftool", "map", "update", "pinned", globals + "/cilium_lxc", "key", "hex"] + key + ["value", "hex"] + value)

            let a = try JSONParser.parse(
                bytes: try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "pod-a", "-o", "json"]).output)
            #expect(a["ciliumEndpoint"]?["endpointID"]?.int == 1234)
            #expect(a["ciliumEndpoint"]?["identity"]?.int == 5678)
            let aFindings = (a["findings"]?.array ?? []).filter { $0["code"]?.string == "CILIUM_ENDPOINT_NOT_READY" }
            #expect(aFindings.count == 1)
            #expect(aFindings.first?["message"]?.string?.contains("runs no cil_from_container") == true)

            let b = try JSONParser.parse(
                bytes: try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "pod-b", "-o", "json"]).output)
            #expect(b["ciliumEndpoint"] == nil || b["ciliumEndpoint"]?.isNull == true)
            let bFindings = (b["findings"]?.array ?? []).filter { $0["code"]?.string == "CILIUM_ENDPOINT_NOT_READY" }
            #expect(bFindings.first?["message"]?.string?.contains("has no endpoint") == true)
        }
    }
}

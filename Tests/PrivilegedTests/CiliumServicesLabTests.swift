import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    /// `services` on a node whose Services are Cilium's: load balancer maps of Cilium's layouts
    /// made and filled by bpftool where Cilium pins them (this machine's bpffs), read back.
    @Suite("Privileged: Services from Cilium's load balancer maps")
    struct CiliumServicesLabTests {
        static let globals = "/sys/fs/bpf/tc/globals"

        func hex(_ value: UInt32, _ count: Int) -> [String] {
            (0..<count).map { String(format: "%02x", Int(value >> (8 * UInt32($0)) & 0xFF)) }
        }

        @Test("a ClusterIP and a NodePort of two backends each, one without backends: entries, endpoints, SERVICE_NO_ENDPOINTS")
        func services() throws {
            try Privilege.require()
            if (try? sh(["stat", "-f", "-c", "%T", "/sys/fs/bpf"]))?.contains("bpf") != true {
                _ = try sh(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"])
            }
            // Never on a node that runs Cilium: its maps are not the test's to touch.
            try #require(NodeRoot("/").status(Self.globals + "/cilium_metrics") == nil, "Cilium's maps are pinned here already")
            _ = try sh(["mkdir", "-p", Self.globals])
            defer {
                for name in ["cilium_metrics", "cilium_lb4_services_v2", "cilium_lb4_backends_v3"] {
                    _ = try? sh(["rm", "-f", Self.globals + "/" + name])
                }
                _ = try? sh(["rmdir", Self.globals])
                _ = try? sh(["rmdir", "/sys/fs/bpf/tc"])
            }
            _ = try sh([
                "bpftool", "map", "create", Self.globals + "/cilium_metrics", "type", "percpu_hash", "key", "8", "value", "16", "entries",
                "16", "name", "cilium_metrics",
            ])
            _ = try sh([
                "bpftool", "map", "create", Self.globals + "/cilium_lb4_services_v2", "type", "hash", "key", "12", "value", "12", "entries",
                "64", "name", "cilium_lb4_serv",
            ])
            _ = try sh([
                "bpftool", "map", "create", Self.globals + "/cilium_lb4_backends_v3", "type", "hash", "key", "4", "value", "12", "entries",
                "64", "name", "cilium_lb4_back",
            ])
            func service(_ address: [String], port: UInt16, slot: UInt16, value: [String]) throws {
                let key =
                    address
                    + ["00", String(format: "%02x", Int(port & 0xFF))].enumerated().map {
                        $0.offset == 0 ? String(format: "%02x", Int(port >> 8)) : $0.element
                    } + hex(UInt32(slot), 2) + ["00", "00", "00", "00"]
                _ = try sh(
                    ["bpftool", "map", "update", "pinned", Self.globals + "/cilium_lb4_services_v2", "key", "hex"] + key + ["value", "hex"]
                        + value)
            }
            // web: 10.96.0.80:80 (rev-NAT 1) and NodePort 30080 (0.0.0.0, flags 0x02, rev-NAT 3: Cilium
            // gives each frontend its own id), backends 1 and 2.
            for (address, port, flags, id) in [
                (["0a", "60", "00", "50"], UInt16(80), "00", "01"), (["00", "00", "00", "00"], UInt16(30080), "02", "03"),
            ] {
                try service(
                    address, port: port, slot: 0, value: ["00", "00", "00", "00"] + hex(2, 2) + ["00", id, flags, "00", "00", "00"])
                for slot in [UInt32(1), 2] {
                    try service(address, port: port, slot: UInt16(slot), value: hex(slot, 4) + Array(repeating: "00", count: 8))
                }
            }
            // empty: 10.96.0.90:80, rev-NAT 2, no backend.
            try service(
                ["0a", "60", "00", "5a"], port: 80, slot: 0,
                value: ["00", "00", "00", "00", "00", "00", "00", "02", "00", "00", "00", "00"])
            for (id, address) in [(UInt32(1), ["0a", "f4", "01", "02"]), (2, ["0a", "f4", "02", "02"])] {
                _ = try sh(
                    ["bpftool", "map", "update", "pinned", Self.globals + "/cilium_lb4_backends_v3", "key", "hex"] + hex(id, 4) + [
                        "value", "hex",
                    ]
                        + address + ["1f", "90", "06", "00", "00", "00", "00", "00"])
            }
            let result = try Binary.run(["services", "--proxy-mode", "cilium", "-o", "json"], timeout: 30_000)
            let json = try JSONParser.parse(bytes: result.output)
            #expect(json["mode"]?.string == "cilium")
            let services = json["services"]?.array ?? []
            #expect(services.count == 3, "\(String(decoding: result.output, as: UTF8.self))")
            for kind in ["clusterIP", "nodePort"] {
                let web = services.first { ($0["frontends"]?.array ?? []).contains { $0["kind"]?.string == kind } }
                #expect((web?["endpoints"]?.array ?? []).compactMap { $0["address"]?.string }.sorted() == ["10.244.1.2", "10.244.2.2"])
            }
            #expect((json["findings"]?.array ?? []).contains { $0["code"]?.string == "SERVICE_NO_ENDPOINTS" })
        }
    }
}

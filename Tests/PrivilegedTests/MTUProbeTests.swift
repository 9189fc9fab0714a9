#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    @Suite("Privileged: mtu-probe on the lab")
    struct MTUProbeTests {
        func probe(_ arguments: [String], node: String = "node1") throws -> (status: Int32, json: ConfigValue, seconds: Double) {
            let started = Clock.now()
            let result = try Binary.run(
                ["lab", "exec", node, "--", "netdoctor", "mtu-probe"] + arguments + ["-o", "json"], timeout: 60_000)
            let seconds = Clock.now() - started
            return (result.status, try JSONParser.parse(bytes: result.output), seconds)
        }

        func codes(_ json: ConfigValue) -> [String] { (json["findings"]?.array ?? []).compactMap { $0["code"]?.string } }

        /// tracepath's "pmtu N", where it can tell.
        func tracepath(from pod: String, to address: String) throws -> Int? {
            let out = try sh(["timeout", "5", "ip", "netns", "exec", try labPod(pod).netns, "tracepath", "-n", address])
            guard let range = out.range(of: "Resume: pmtu ") else { return nil }
            return Int(out[range.upperBound...].prefix { $0.isNumber })
        }

        @Test(
            "healthy paths: the overlay carries its MTU, the routed path the underlay's, as tracepath says",
            arguments: [
                ("overlay", "10.244.2.2", 1450), ("routed", "10.245.2.2", 1500),
            ])
        func healthy(topology: String, destination: String, expected: Int) throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up", "--topology", topology], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let (status, json, _) = try probe(["pod-a", destination])
            #expect(status == 0, "\(codes(json))")
            let path = try #require(json["paths"]?.array?.first)
            #expect(path["pathMTU"]?.int == expected)
            #expect(path["interfaceMTU"]?.int == expected)
            #expect(path["verdict"]?.string == "clean")
            #expect(path["probes"]?.array?.count == 1)  // the interface's size crossed at once
            #expect(try tracepath(from: "pod-a", to: destination) == expected)
            // Same node, and the sweep of the node.
            #expect(try probe(["pod-a", "pod-b"]).status == 0)
            let sweep = try probe([])
            #expect(sweep.status == 0)
            #expect((sweep.json["paths"]?.array?.count ?? 0) >= 4)
        }

        @Test(
            "a pod MTU above the path: MTU_MISMATCH with the right path MTU, again on a second run (no cached PMTU)",
            arguments: [("overlay", "10.244.2.2", 1450, 1500), ("routed", "10.245.2.2", 1400, 1500)])
        func mismatch(topology: String, destination: String, pathMTU: Int, interfaceMTU: Int) throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up", "--topology", topology], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "MTU_MISMATCH"])
            // Teach the kernel the smaller PMTU first, as an earlier ping or run would.
            _ = try? sh([
                Binary.path, "lab", "exec", "pod-a", "--", "ping", "-c", "2", "-W", "1", "-M", "do", "-s", "\(interfaceMTU - 28)",
                destination,
            ])
            for _ in 0..<2 {
                let (status, json, _) = try probe(["pod-a", destination])
                #expect(status == 1)
                #expect(codes(json).contains("MTU_MISMATCH"))
                #expect(!codes(json).contains("PMTU_BLACKHOLE"))
                let path = try #require(json["paths"]?.array?.first)
                #expect(path["pathMTU"]?.int == pathMTU)
                #expect(path["interfaceMTU"]?.int == interfaceMTU)
                let first = try #require(path["probes"]?.array?.first)
                #expect(first["size"]?.int == interfaceMTU)
                #expect(first["outcome"]?.string == "fragmentation needed")
                #expect(first["mtu"]?.int == pathMTU)
            }
            #expect(try tracepath(from: "pod-a", to: destination) == pathMTU)
        }

        @Test("ICMP fragmentation-needed dropped on the node: PMTU_BLACKHOLE, the right path MTU, the rule named, in under 10 s")
        func blackhole() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            _ = try Binary.run(["lab", "break", "PMTU_BLACKHOLE"])
            let (status, json, seconds) = try probe(["pod-a", "10.244.2.2"])
            #expect(status == 1)
            #expect(codes(json).contains("PMTU_BLACKHOLE"))
            #expect(codes(json).contains("MTU_MISMATCH"))
            let path = try #require(json["paths"]?.array?.first)
            #expect(path["pathMTU"]?.int == 1450)
            #expect(path["verdict"]?.string == "blackhole")
            #expect(seconds < 10)
            let finding = try #require(json["findings"]?.array?.first { $0["code"]?.string == "PMTU_BLACKHOLE" })
            #expect(
                finding["evidence"]?.array?.contains {
                    $0.string?.contains("fragmentation-needed") == true && $0.string?.contains("PMTU_BLACKHOLE") == true
                } == true)
        }

        @Test("bad input: an unknown pod (2), an unreachable destination (1), missing privileges (3)")
        func badInput() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let unknown = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "mtu-probe", "no-such-pod", "10.244.2.2"])
            #expect(unknown.status == 2)
            #expect(unknown.errorText.contains("no pod no-such-pod"))
            let (status, json, seconds) = try probe(["pod-a", "10.99.99.99", "--timeout", "100"])
            #expect(status == 1)
            #expect(codes(json).contains("PROBE_NO_ANSWER"))
            #expect(seconds < 5)
            let unprivileged = try Binary.run([
                "lab", "exec", "node1", "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", Binary.path, "mtu-probe", "default/pod-a", "10.244.2.2",
            ])
            #expect(unprivileged.status == 3)
            #expect(unprivileged.errorText.split(separator: "\n").count == 1)
        }
    }
}

/// Wall-clock seconds, monotonic.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

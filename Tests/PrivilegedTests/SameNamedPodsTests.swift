import ConfigFormats
import TestSupport
import Testing

extension PrivilegedSuite {
    /// Two pods of one node with one name in two namespaces (a StatefulSet's web-0 in staging and
    /// in prod), made by the lab's real containerd: every hop and finding of a trace between them
    /// says which pod it is.
    @Suite("Privileged: same-named pods in two namespaces")
    struct SameNamedPodsTests {
        func trace(_ source: String, _ destination: String) throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run([
                "lab", "exec", "node1", "--", "netdoctor", "trace", source, destination, "-o", "json", "--timeout", "1000",
            ])
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        @Test("a trace between staging/web-0 and prod/web-0 names each end by namespace/name; the broken one is named unambiguously")
        func namedByNamespace() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up", "--same-name-pods"], timeout: 180_000)
            defer { _ = try? Binary.run(["lab", "down"]) }

            let healthy = try trace("staging/web-0", "prod/web-0")
            #expect(healthy.status == 0, "\(healthy.json)")
            let hops = healthy.json["hops"]?.array?.compactMap { $0["name"]?.string } ?? []
            #expect(hops.first == "staging/web-0:eth0", "\(hops)")
            #expect(hops.last == "prod/web-0:eth0", "\(hops)")
            // A pod whose name is its own keeps its bare name.
            let fromA = try trace("pod-a", "prod/web-0")
            #expect(fromA.json["hops"]?.array?.first?["name"]?.string == "pod-a:eth0")
            #expect(fromA.json["hops"]?.array?.last?["name"]?.string == "prod/web-0:eth0")

            // prod/web-0's own interface down: the finding says prod/web-0, never a bare web-0.
            let prod = try labPod("prod/web-0")
            _ = try sh(["ip", "-n", prod.netns, "link", "set", "eth0", "down"])
            let broken = try trace("staging/web-0", "prod/web-0")
            #expect(broken.status == 1)
            let findings = broken.json["findings"]?.array ?? []
            let linkDown = findings.first { $0["code"]?.string == "LINK_DOWN" }
            #expect(linkDown?["hop"]?.string == "prod/web-0:eth0", "\(findings)")
            let places = findings.compactMap { $0["hop"]?.string } + (broken.json["hops"]?.array?.compactMap { $0["name"]?.string } ?? [])
            #expect(!places.contains { $0.hasPrefix("web-0:") }, "\(places)")
            // The other one is untouched: its own trace from pod-a is healthy.
            #expect(try trace("pod-a", "staging/web-0").status == 0)
        }
    }
}

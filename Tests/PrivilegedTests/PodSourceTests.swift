import Foundation
import ConfigFormats
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension PrivilegedSuite {
    /// Pods as the lab's real containerd keeps them: asked over CRI, read from the cache it wrote
    /// (libcni 1.1: no top-level netns; its own cni-loopback attachment), and both at odds.
    @Suite("Privileged: pods from the lab's containerd and its cache")
    struct PodSourceTests {
        static let results = "/var/lib/netdoctor-lab/node1/var/lib/cni/results"

        func inspect(_ target: String, _ extra: [String] = []) throws -> (status: Int32, json: ConfigValue, stderr: String) {
            let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", target, "-o", "json"] + extra)
            return (result.status, try JSONParser.parse(bytes: result.output), result.errorText)
        }

        func codes(_ json: ConfigValue) -> [String] { json["findings"]?.array?.compactMap { $0["code"]?.string } ?? [] }

        /// What every reading of pod-b must say, whichever source named it.
        func expectPodB(_ json: ConfigValue, source: String) throws {
            let podB = try labPod("pod-b")
            #expect(json["namespace"]?["name"]?.string == podB.netns)
            #expect(json["pods"]?.array?.first?["source"]?.string == source)
            #expect(json["pods"]?.array?.first?["sandboxID"]?.string == podB.sandboxID)
            #expect(json["pods"]?.array?.first?["addresses"]?.array?.compactMap(\.string) == ["10.244.1.3"])
            let eth0 = json["interfaces"]?.array?.first { $0["name"]?.string == "eth0" }
            #expect(eth0?["addresses"]?.array?.compactMap(\.string).contains("10.244.1.3/24") == true)
        }

        @Test("the runtime names each pod by NAME, NAMESPACE/NAME and IP: its namespace, addresses and host veth")
        func runtimeFirst() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            // What containerd 1.6 really wrote: no top-level netns, and its own loopback attachment.
            let files = try NodeRoot("/").list(Self.results).map(\.name)
            #expect(files.filter { $0.hasPrefix("cni-loopback-") }.count == 2, "\(files)")
            for file in files {
                #expect(try JSONParser.parse(try NodeRoot("/").readText("\(Self.results)/\(file)"))["netns"] == nil)
            }
            for name in ["pod-b", "default/pod-b", "10.244.1.3"] {
                let (status, json, stderr) = try inspect(name)
                #expect(status == 0, "\(name): \(stderr)")
                try expectPodB(json, source: "runtime")
                #expect(!codes(json).contains("RUNTIME_UNREACHABLE"))
                let host = json["hostSide"]?["interface"]?["name"]?.string
                #expect(host?.hasPrefix("veth") == true, "\(json["hostSide"] ?? .null)")
                #expect(json["hostSide"]?["bridge"]?["name"]?.string == "cni0")
            }
            // 127.0.0.1 is every pod's (the runtime's loopback attachment), so it names none.
            #expect(try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "127.0.0.1"]).status == 2)
            // The agent asks the same runtime.
            let detect = try JSONParser.parse(
                bytes: try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "detect-cni", "-o", "json"]).output)
            #expect(detect["runtime"]?["answering"]?["name"]?.string == "containerd", "\(detect["runtime"] ?? .null)")
            #expect(detect["runtime"]?["answering"]?["version"]?.string?.isEmpty == false)
        }

        @Test(
            "trace, mtu-probe and capture name the right pod, namespace, addresses and host veth, by NAMESPACE/NAME, NAME and IP",
            arguments: ["overlay", "routed"])
        func everyCommand(topology: String) throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up", "--topology", topology], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let subnet = topology == "overlay" ? "10.244" : "10.245"
            let status = try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)
            func host(_ pod: String) -> String? { status["pods"]?.array?.first { $0["name"]?.string == pod }?["hostInterface"]?.string }
            let podA = try labPod("pod-a"), podB = try labPod("pod-b")
            func run(_ arguments: [String]) throws -> ConfigValue {
                let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor"] + arguments + ["-o", "json"], timeout: 60_000)
                #expect(result.status == 0, "\(arguments): \(result.errorText)")
                return try JSONParser.parse(bytes: result.output)
            }
            func expectNamed(_ json: ConfigValue, _ expected: [(name: String, netns: String, address: String)]) {
                let pods = json["pods"]?.array ?? []
                #expect(pods.count == expected.count, "\(pods)")
                for (pod, want) in zip(pods, expected) {
                    #expect(pod["name"]?.string == want.name)
                    #expect(pod["source"]?.string == "runtime")
                    #expect(pod["netns"]?.string == "/var/run/netns/\(want.netns)")
                    #expect(pod["addresses"]?.array?.compactMap(\.string) == [want.address])
                }
            }
            let a = ("default/pod-a", podA.netns, "\(subnet).1.2"), b = ("default/pod-b", podB.netns, "\(subnet).1.3")
            // trace: by NAMESPACE/NAME to a bare NAME, and by IP to IP; its hops name both host veths.
            for (source, destination) in [("default/pod-a", "pod-b"), ("\(subnet).1.2", "\(subnet).1.3")] {
                let trace = try run(["trace", source, destination])
                expectNamed(trace, [a, b])
                let interfaces = trace["hops"]?.array?.compactMap { $0["interface"]?.string } ?? []
                #expect(interfaces.contains(host("pod-a") ?? "?") && interfaces.contains(host("pod-b") ?? "?"), "\(interfaces)")
                #expect(trace["hops"]?.array?.first?["namespace"]?.string == podA.netns)
            }
            // mtu-probe: a bare NAME to NAMESPACE/NAME.
            expectNamed(try run(["mtu-probe", "pod-a", "default/pod-b"]), [a, b])
            // capture: a pod by IP, its own eth0 in its own namespace.
            let capture = try run(["capture", "\(subnet).1.3", "--duration", "0.3"])
            expectNamed(capture, [b])
            #expect(capture["points"]?.array?.first?["name"]?.string == "pod-b:eth0")
            // The cache alone (no runtime asked) names the same pods, and the reports say where from.
            let cacheOnly = try run(["trace", "pod-a", "pod-b", "--runtime-endpoint", "none"])
            #expect(cacheOnly["reachable"]?.bool == true)
            #expect(cacheOnly["pods"]?.array?.allSatisfy { $0["source"]?.string == "cache" } == true)
            #expect(
                cacheOnly["findings"]?.array?.contains { $0["code"]?.string == "RUNTIME_UNREACHABLE" && $0["severity"]?.string == "info" }
                    == true)
        }

        @Test("without a runtime socket the cache alone names the pod (namespace from its interfaces' sandbox, else by IP), and says so")
        func cacheAlone() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let missing = ["--runtime-endpoint", "unix:///nonexistent/containerd.sock"]
            var (status, json, stderr) = try inspect("pod-b", missing)
            #expect(status == 0, "\(stderr)")
            try expectPodB(json, source: "cache")
            #expect(codes(json).contains("RUNTIME_UNREACHABLE"))
            // A cache that names no namespace at all: the pod's IP finds it (never 127.0.0.1).
            for entry in try NodeRoot("/").list(Self.results) {
                let text = try NodeRoot("/").readText(entry.nodePath).replacingOccurrences(of: "\"sandbox\":", with: "\"sandbox_\":")
                FileTree.write(entry.nodePath, bytes: Array(text.utf8))
            }
            (status, json, stderr) = try inspect("pod-b", missing)
            #expect(status == 0, "\(stderr)")
            try expectPodB(json, source: "cache")
            // The runtime still answers for the same pods, whatever the cache lacks.
            (status, json, stderr) = try inspect("pod-b")
            #expect(status == 0, "\(stderr)")
            try expectPodB(json, source: "runtime")
        }

        @Test(
            "a cache whose namespace is not one (HOSTILE-INPUT 6, 21): a FIFO, a file, a directory, a device, another namespace kind, a relative path; one line each, no hang"
        )
        func notANamespace() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let tree = NodeTree()
            _ = try sh(["mkfifo", tree.path + "/fifo"])
            _ = tree.write("/file", "x").directory("/dir")
            let podB = try labPod("pod-b")
            let entry = "\(Self.results)/lab-overlay-\(podB.sandboxID)-eth0"
            let original = try NodeRoot("/").readText(entry)
            let cases: [(String, Int32, String)] = [
                (tree.path + "/fifo", 2, "a FIFO"), (tree.path + "/file", 2, "a regular file"), (tree.path + "/dir", 2, "a directory"),
                ("/dev/zero", 2, "a device"), ("/proc/self/ns/mnt", 2, "another kind of namespace"),
                // Relative: the node's path from its /, never netdoctor's working directory: here
                // node1's own namespace, which lacks pod-b's IP.
                ("var/run/netns/ndlab-node1", 3, "does not hold its address"),
            ]
            for (path, status, says) in cases {
                let text = original.replacingOccurrences(of: "/var/run/netns/\(podB.netns)", with: path)
                FileTree.write(entry, bytes: Array(text.utf8), mode: 0o600)
                let started = Clock.now()
                let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "pod-b", "--runtime-endpoint", "none"])
                #expect(Clock.now() - started < 5, "\(path): \(Clock.now() - started) s")
                #expect(result.status == status, "\(path): \(result.status) \(result.errorText)")
                #expect(result.errorText.contains(says), "\(path): \(result.errorText)")
                #expect(result.errorText.split(separator: "\n").count == 1, "\(result.errorText)")
            }
        }

        @Test("a runtime that hangs: a warning within its budget, and the cache names the pods")
        func hangingRuntime() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let state = try JSONParser.parse(try NodeRoot("/").readText("/var/lib/netdoctor-lab/state.json"))
            let pid = try #require(state["runtimes"]?["node1"]?.int.map(Int32.init))
            kill(pid, SIGSTOP)
            defer { kill(pid, SIGCONT) }
            let started = Clock.now()
            let (status, json, stderr) = try inspect("pod-b")
            #expect(Clock.now() - started < 6, "\(Clock.now() - started) s")
            #expect(status == 0, "\(stderr)")
            try expectPodB(json, source: "cache")
            let warning = json["findings"]?.array?.first { $0["code"]?.string == "RUNTIME_UNREACHABLE" }
            #expect(warning?["severity"]?.string == "warning", "\(json["findings"] ?? .null)")
        }

        @Test("the cache and the runtime at odds: a stale entry is left out and named, a namespace that lacks the pod's IP is refused")
        func atOdds() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let podA = try labPod("pod-a"), podB = try labPod("pod-b")
            // A stale entry: pod-a's, under a sandbox ID the runtime does not know, for a pod "ghost".
            let ghostID = String(repeating: "ab", count: 32)
            let source = "\(Self.results)/lab-overlay-\(podA.sandboxID)-eth0"
            let ghost = try NodeRoot("/").readText(source).replacingOccurrences(of: podA.sandboxID, with: ghostID)
                .replacingOccurrences(of: "\"pod-a\"", with: "\"ghost\"")
            FileTree.write("\(Self.results)/lab-overlay-\(ghostID)-eth0", bytes: Array(ghost.utf8), mode: 0o600)
            let named = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "ghost"])
            #expect(named.status == 2)
            #expect(named.errorText.contains("stale"), "\(named.errorText)")
            let detect = try JSONParser.parse(
                bytes: try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "detect-cni", "-o", "json"]).output)
            #expect(codes(detect).contains("POD_CACHE_STALE"), "\(codes(detect))")
            // Without the runtime, the cache alone cannot tell: ghost and pod-a share an address and a
            // namespace; asked by IP, netdoctor refuses to pick one.
            let ambiguous = try Binary.run([
                "lab", "exec", "node1", "--", "netdoctor", "inspect", "10.244.1.2",
                "--runtime-endpoint", "unix:///nonexistent.sock",
            ])
            #expect(ambiguous.status == 2, "\(ambiguous.errorText)")
            // pod-b's cache entry pointing at pod-a's namespace, the runtime not asked: the namespace
            // does not hold pod-b's address, so netdoctor stops rather than inspect pod-a.
            let entry = "\(Self.results)/lab-overlay-\(podB.sandboxID)-eth0"
            let wrong = try NodeRoot("/").readText(entry).replacingOccurrences(of: podB.netns, with: podA.netns)
            FileTree.write(entry, bytes: Array(wrong.utf8), mode: 0o600)
            let refused = try Binary.run([
                "lab", "exec", "node1", "--", "netdoctor", "inspect", "pod-b", "--runtime-endpoint", "unix:///nonexistent.sock",
            ])
            #expect(refused.status == 3, "\(refused.status) \(refused.errorText)")
            #expect(refused.errorText.contains("does not hold its address 10.244.1.3"), "\(refused.errorText)")
            #expect(refused.errorText.split(separator: "\n").count == 1)
            // With the runtime, its namespace wins and the disagreement is reported.
            let (status, json, stderr) = try inspect("pod-b")
            #expect(status == 0, "\(stderr)")
            try expectPodB(json, source: "runtime")
            #expect(codes(json).contains("POD_SOURCES_DISAGREE"), "\(codes(json))")
        }
    }
}

import CNIDetection
import CRI
import Dispatch
import NodeFiles
@testable import Pods
import RuntimeModel
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The runtime's side: CRI answers recorded from the lab's containerd (bytes), merged with its
/// cache; and runtimes that do not answer as they should.
@Suite("Pods from the runtime (CRI)")
struct RuntimeTests {
    static let fixtures = Repository.root + "/Tests/PodsTests/Fixtures/cri"

    /// The recorded answers, decoded as netdoctor decodes them off the wire.
    func recorded() throws -> RuntimeAnswers {
        func bytes(_ name: String) throws -> [UInt8] { try #require(Repository.read("\(Self.fixtures)/\(name)"), "fixture \(name)") }
        var statuses: [Runtime_V1_PodSandboxStatusResponse] = []
        var i = 0
        while let status = Repository.read("\(Self.fixtures)/status-\(i).bin") {
            statuses.append(try Runtime_V1_PodSandboxStatusResponse(serializedBytes: status))
            i += 1
        }
        return RuntimeAnswers(
            version: try Runtime_V1_VersionResponse(serializedBytes: try bytes("version.bin")),
            list: try Runtime_V1_ListPodSandboxResponse(serializedBytes: try bytes("list.bin")), statuses: statuses)
    }

    @Test("containerd's answers (recorded from the lab): who it is, each sandbox's name, IP and namespace")
    func recordedAnswers() throws {
        let inventory = RuntimeInventory(try recorded())
        #expect(inventory.runtimeName == "containerd")
        #expect(inventory.apiVersion == "v1")
        #expect(inventory.sandboxes.map(\.name).sorted() == ["pod-a", "pod-b"])
        for sandbox in inventory.sandboxes {
            #expect(sandbox.ready)
            #expect(sandbox.namespace == "default")
            #expect(sandbox.id.count == 64)
            #expect(sandbox.netnsPath?.hasPrefix("/var/run/netns/cni-") == true, "\(sandbox)")
            #expect(sandbox.ips.count == 1 && sandbox.ips[0].hasPrefix("10.244.1."), "\(sandbox.ips)")
        }
    }

    @Test("merged with a cache: runtime pods first, a stale entry left out and named, a sandbox without cache entry kept")
    func merge() throws {
        let inventory = RuntimeInventory(try recorded())
        let podA = try #require(inventory.sandboxes.first { $0.name == "pod-a" })
        let podB = try #require(inventory.sandboxes.first { $0.name == "pod-b" })
        func entry(_ id: String, _ name: String, _ address: String) -> CacheEntry {
            CacheEntry.parse(
                bytes: Array(
                    """
                    {"kind":"cniCacheV1","containerId":"\(id)","networkName":"lab-overlay","ifName":"eth0",
                     "cniArgs":[["K8S_POD_NAMESPACE","default"],["K8S_POD_NAME","\(name)"]],
                     "result":{"ips":[{"address":"\(address)/24","interface":0}],"interfaces":[{"name":"eth0","sandbox":"/var/run/netns/x"}]}}
                    """.utf8))!
        }
        let cached = PodDirectory.cachePods([
            entry(podA.id, "pod-a", podA.ips[0]), entry(String(repeating: "9", count: 64), "gone", "10.244.1.99"),
        ])
        let merged = PodMerge(cached: cached, inventory: inventory)
        #expect(merged.pods.map(\.name).sorted() == ["pod-a", "pod-b"])
        #expect(merged.pods.allSatisfy { $0.source == .runtime })
        #expect(merged.stale.map(\.name) == ["gone"])
        let a = try #require(merged.pods.first { $0.name == "pod-a" })
        #expect(a.netnsPath == podA.netnsPath)  // the runtime's, not the cache's "/var/run/netns/x"
        #expect(a.attachments.count == 1)
        let codes = merged.notes.map(\.finding.code)
        #expect(codes.contains(.podCacheStale))
        #expect(codes.contains(.podCacheMissing))  // pod-b has no entry
        #expect(codes.contains(.podSourcesDisagree))  // pod-a's namespace differs
        #expect(merged.notes.first { $0.finding.code == .podCacheMissing }?.sandboxes == [podB.id])
    }

    @Test("the verbose info's namespace path: containerd's and CRI-O's shape; nothing from garbage")
    func sandboxInfo() {
        let spec = #"{"pid":1,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"},{"type":"network","path":"/var/run/netns/abc"}]}}}"#
        #expect(SandboxInfo.networkNamespacePath(["info": spec]) == "/var/run/netns/abc")
        #expect(SandboxInfo.networkNamespacePath(["info": "{\"runtimeSpec\": 7}"]) == nil)
        #expect(SandboxInfo.networkNamespacePath(["info": "not json"]) == nil)
        #expect(SandboxInfo.networkNamespacePath([:]) == nil)
    }

    @Test("endpoints: unix:// forms, under --root, and what is not a Unix socket")
    func endpoints() {
        #expect(RuntimeEndpoint.socketPath(of: "unix:///run/containerd/containerd.sock") == "/run/containerd/containerd.sock")
        #expect(RuntimeEndpoint.socketPath(of: "unix:/var/run/crio/crio.sock") == "/var/run/crio/crio.sock")
        #expect(RuntimeEndpoint.socketPath(of: " /run/x.sock\n") == "/run/x.sock")
        #expect(RuntimeEndpoint.socketPath(of: "tcp://10.0.0.1:1234") == nil)
        #expect(RuntimeEndpoint.socketPath(of: "unix://relative.sock") == nil)
        #expect(RuntimeEndpoint.onNode("unix:///run/../run/k.sock", root: NodeRoot("/host"))?.socketPath == "/host/run/k.sock")
    }

    /// A Unix socket server that answers each connection with `reply` (nil: never answers).
    @Test("a runtime that accepts and never answers: timed out within the budget")
    func hangs() throws {
        let fake = try FakeUnixServer(reply: nil)
        let started = Elapsed.now()
        let error = #expect(throws: RuntimeQueryError.self) {
            _ = try RuntimeClient.inventory(
                RuntimeEndpoint(named: "unix://" + fake.path, socketPath: fake.path), budget: .milliseconds(500))
        }
        #expect(error?.kind == .timedOut)
        #expect(Elapsed.now() - started < 2.5)
    }

    @Test("a runtime that answers garbage: failed, at once, one line")
    func garbage() throws {
        let fake = try FakeUnixServer(reply: Array("HTTP/1.1 400 Bad Request\r\n\r\n\u{1b}[31mgarbage".utf8))
        let started = Elapsed.now()
        do {
            _ = try RuntimeClient.inventory(RuntimeEndpoint(named: "unix://" + fake.path, socketPath: fake.path), budget: .seconds(2))
            Issue.record("garbage accepted")
        } catch {
            #expect(error.kind == .failed || error.kind == .timedOut)
            #expect(!error.message.contains("\n") && !error.message.contains("\u{1b}"), "\(error.message)")
        }
        #expect(Elapsed.now() - started < 3)
    }

    @Test("no socket, or a socket nobody listens on: said plainly, without waiting")
    func absent() throws {
        let missing = RuntimeEndpoint(named: "unix:///nonexistent.sock", socketPath: "/nonexistent.sock")
        #expect(#expect(throws: RuntimeQueryError.self) { _ = try RuntimeClient.version(missing) }?.kind == .noSocket)
        let deaf = try FakeUnixServer(reply: nil, listening: false)
        let started = Elapsed.now()
        #expect(
            #expect(throws: RuntimeQueryError.self) {
                _ = try RuntimeClient.version(RuntimeEndpoint(named: "unix://" + deaf.path, socketPath: deaf.path))
            }?.kind == .notListening)
        #expect(Elapsed.now() - started < 0.5)
        // Through the directory: the cache is used and the report says why.
        let tree = NodeTree()
        let pods = PodDirectory.load(root: tree.root, endpoint: "unix://" + deaf.path)
        guard case .unavailable = pods.runtime else { Issue.record("\(pods.runtime)"); return }
        #expect(pods.runtime.finding?.severity == .warning)
        let none = PodDirectory.load(root: tree.root)
        guard case .noEndpoint = none.runtime else { Issue.record("\(none.runtime)"); return }
        #expect(none.runtime.finding?.severity == .info)
    }
}

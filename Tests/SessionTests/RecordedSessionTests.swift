import ConfigFormats
import Diagnosis
import KernelState
import NetAddress
import PathFacts
import Pods
import Session
import TestSupport
import Testing

/// NodeSession on recordings: the kernel's answers replayed (RecordedNode, given to the session
/// as the live node would be), the pods from a node tree's libcni cache, no runtime. The
/// operations the CLI and the agent share, judged without root.
@Suite("a session over a recorded node")
struct RecordedSessionTests {
    static func fixture(_ name: String) -> String { Repository.root + "/Tests/TraceChecksTests/Fixtures/" + name }

    /// A session over the recording, its pods those of a node tree whose libcni cache holds the
    /// recording's source pod as containerd writes it (kept alive with the tree).
    static func session(_ recording: String) throws -> (session: NodeSession, tree: NodeTree) {
        let directory = fixture(recording)
        let ends = try JSONParser.parse(bytes: try #require(Repository.read(directory + "/trace-ends.json")))
        let source = try #require(ends["source"])
        let id = try #require(source["sandboxID"]?.string)
        let addresses = (source["addresses"]?.array ?? []).compactMap(\.string)
        let cache: ConfigValue = .fields([
            "kind": .string("cniCacheV1"), "containerId": .string(id), "ifName": .string("eth0"), "networkName": .string("lab"),
            "cniArgs": .array([
                .array([.string("K8S_POD_NAMESPACE"), .string(source["namespace"]?.string ?? "default")]),
                .array([.string("K8S_POD_NAME"), .string(try #require(source["name"]?.string))]),
            ]),
            "result": .fields(["cniVersion": .string("1.0.0"), "ips": .array(addresses.map { .fields(["address": .string("\($0)/24")]) })]),
        ])
        let tree = NodeTree().write("/var/lib/cni/results/lab-\(id)-eth0", bytes: JSONWriter.bytes(cache))
        return (NodeSession(root: tree.root, runtimeEndpoint: "none", kernel: try RecordedNode(directory: directory)), tree)
    }

    @Test("inspect POD: the pod's namespace and its host side read from the recording, judged by the checks a trace runs")
    func inspectPod() throws {
        let (session, tree) = try Self.session("overlay-LINK_DOWN")
        let report = try session.inspect("pod-a")
        let down = try #require(report.findings.first { $0.code == .linkDown }, "\(report.findings.map(\.code))")
        #expect(down.hop == "node:veth1062b3c4" && down.severity == .error)
        #expect(report.exitStatus == 1)
        withExtendedLifetime(tree) {}
    }

    @Test("inspect node: the node's namespace from the recording; a healthy one has no error")
    func inspectNode() throws {
        let (session, tree) = try Self.session("overlay-healthy-same-node")
        let report = try session.inspect("node")
        #expect(!report.findings.contains { $0.severity == .error }, "\(report.findings.map(\.message))")
        let interfaces = report.jsonFields.first { $0.0 == "interfaces" }?.1
        #expect(interfaces?.array?.isEmpty == false)
        withExtendedLifetime(tree) {}
    }

    @Test("a pod the node does not have is the lookup's error, not a report")
    func unknownPod() throws {
        let (session, tree) = try Self.session("overlay-healthy-same-node")
        #expect(throws: PodLookupError.self) { try session.inspect("nobody") }
        withExtendedLifetime(tree) {}
    }

    @Test("the node's own address (where incidents finds its agent): its default route's interface's, on a recorded node")
    func nodeAddress() throws {
        let node = try RecordedNode(directory: Self.fixture("overlay-healthy-cross-node"))
        let state = try node.open(node.node).state()
        #expect(state.nodeAddress == IPAddress.parse("192.168.77.1"))
        // The longest-prefix table's routes: local table first, main after.
        let routes = state.unicastRoutesForLookup
        #expect(!routes.isEmpty && routes.first?.value.table == .local)
        let table = LongestPrefixTable(routes)
        #expect(table.lookup(try #require(IPAddress.parse("10.244.2.7")))?.outputIndex != nil)
    }
}

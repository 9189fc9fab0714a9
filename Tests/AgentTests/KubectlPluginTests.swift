import NodeFiles
import TestSupport
import Testing

/// deploy/kubectl-netdoctor against a stand-in kubectl that answers from a script: which node's
/// agent pod it picks, and how it names pods to netdoctor there.
@Suite("kubectl-netdoctor plugin")
struct KubectlPluginTests {
    static let fakeKubectl = """
        #!/bin/sh
        case "$*" in
          "config view"*) printf default ;;
          "get pod pod-a -n default -o jsonpath={.spec.nodeName}") printf node1 ;;
          "get pod pod-b -n default -o jsonpath={.spec.nodeName}") printf node2 ;;
          "get pod pod-b -n default -o jsonpath={.status.podIP}") printf 10.244.2.7 ;;
          "get pod pod-c -n default -o jsonpath={.spec.nodeName}") printf node1 ;;
          "get pod web -n shop -o jsonpath={.spec.nodeName}") printf node2 ;;
          "get pod ghost"*) echo 'Error from server (NotFound): pods "ghost" not found' >&2; exit 1 ;;
          "get pods -n netdoctor -l app.kubernetes.io/name=netdoctor-agent --field-selector spec.nodeName=node1 -o jsonpath={.items[0].metadata.name}") printf netdoctor-agent-aaaaa ;;
          "get pods -n netdoctor -l app.kubernetes.io/name=netdoctor-agent --field-selector spec.nodeName=node2 -o jsonpath={.items[0].metadata.name}") printf netdoctor-agent-bbbbb ;;
          "get pods"*) ;;
          exec*) echo "EXEC $*" ;;
          *) echo "unexpected: $*" >&2; exit 9 ;;
        esac
        """

    func plugin(_ arguments: [String]) throws -> ChildProcess.Result {
        let tree = NodeTree().write("/kubectl", Self.fakeKubectl, mode: 0o755)
        guard
            let result = ChildProcess.run(
                Repository.root + "/deploy/kubectl-netdoctor", arguments: arguments,
                environment: ["PATH=/usr/bin:/bin", "KUBECTL=\(tree.path)/kubectl"])
        else {
            throw TestFailure("cannot run the plugin")
        }
        return result
    }

    @Test("runs on the first pod's node; a pod there is NAMESPACE/NAME, a pod elsewhere its IP; options pass through")
    func mapsPods() throws {
        let trace = try plugin(["trace", "pod-a", "pod-b", "--port", "80"])
        #expect(trace.status == 0, "\(trace.errorText)")
        #expect(
            trace.outputText
                == "EXEC exec -i -n netdoctor netdoctor-agent-aaaaa -c agent -- netdoctor trace default/pod-a 10.244.2.7 --port 80\n")
        let local = try plugin(["trace", "pod-a", "pod-c", "-o", "json"])
        #expect(local.outputText.contains("netdoctor trace default/pod-a default/pod-c -o json"))
        let capture = try plugin(["-n", "shop", "capture", "web:eth0", "node:cni0", "--count", "10"])
        #expect(
            capture.outputText.contains("netdoctor-agent-bbbbb -c agent -- netdoctor capture shop/web:eth0 node:cni0 --count 10"),
            "\(capture.outputText)")
        let onNode = try plugin(["--node", "node2", "detect-cni"])
        #expect(onNode.outputText.contains("netdoctor-agent-bbbbb -c agent -- netdoctor detect-cni"))
    }

    @Test("an unknown pod is exit 2, a node without an agent exit 3, each with one line")
    func failures() throws {
        let ghost = try plugin(["inspect", "ghost"])
        #expect(ghost.status == 2)
        #expect(ghost.errorText.contains("cannot find pod ghost"))
        let noAgent = try plugin(["--node", "node9", "detect-cni"])
        #expect(noAgent.status == 3)
        #expect(noAgent.errorText.contains("no netdoctor agent pod on node node9"))
        #expect(try plugin([]).status == 2)
    }
}

import ArgumentParser
import Diagnosis
import Session

struct InspectCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "A pod's (or the node's) network namespace as the kernel sees it.",
        discussion: """
            Reads the namespace over rtnetlink: interfaces (kind, MTU, state, addresses, bridge, veth peer \
            and the namespace it lives in), routes of every table, neighbours, the overlay forwarding \
            database, and the forwarding sysctls. For a pod, also its host-side veth and the bridge or \
            routes that serve it. Pods are found by NAME, NAMESPACE/NAME or IP: from the container \
            runtime over CRI when its socket answers (--runtime-endpoint, else the kubelet's), merged \
            with libcni's result cache under --root; from the cache alone otherwise, and the report says so.
            Exit status: 0, 1 when something on the pod's path is down, 2 unknown or ambiguous pod, \
            3 missing privileges or a namespace that is gone.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A pod (NAME, NAMESPACE/NAME or IP), or `node`.", valueName: "target"))
    var target: String

    var podsNamed: [String]? { [target] }
    var doing: String { "inspect \(target)" }
    func report(_ session: NodeSession) throws -> any Report { try session.inspect(target) }
}

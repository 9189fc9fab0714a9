import ArgumentParser
import Diagnosis
import Session

struct CheckCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "The whole node's pod network judged at once, including what breaks before a pod has a network.",
        discussion: """
            Reads, without being told where to look and without sending anything: everything detect-cni \
            finds; the runtime's NetworkReady condition over CRI; every pod of the node with the checks \
            inspect runs for one; host-local's pools of the active network (flannel's through \
            subnet.env) with their fill, leaked reservations and size against the kubelet's maxPods; \
            the CNI bridge's address against the gateway the bridge plugin would set; br_netfilter \
            where pods are bridge ports and kube-proxy needs it; the conntrack and neighbour tables \
            against their limits; the ephemeral port range against the NodePorts; and kube-proxy's \
            state in brief (details in `services` and `dns`).
            Exit status: 0 healthy, 1 a problem of severity error, 2 bad input, 3 not allowed.
            """)

    @OptionGroup var global: GlobalOptions

    /// Every pod, none named: the runtime is asked for the status of only the sandboxes its
    /// cache cannot place (PodDirectory.statusWanted).
    var podsNamed: [String]? { [] }
    var doing: String { "check" }
    func report(_ session: NodeSession) throws -> any Report { session.check() }
}

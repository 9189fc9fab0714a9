import ArgumentParser
import Diagnosis
import Session

struct PolicyCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract:
            "The NetworkPolicies that select a pod on this node, per direction, as its policy engine programmed them, with their counters.",
        discussion: """
            Reads the node's firewall (iptables-save -c and native nftables tables) and finds the pod's \
            enforcement points in the policy engine's own layout: Calico's endpoint chains \
            (cali-tw-<veth> ingress, cali-fw-<veth> egress; tiers, the policy chains they jump to, named by \
            felix's identity comments, the "End of tier" default deny and the profiles), in its iptables \
            or nftables dataplane; kube-router's pod chain (KUBE-POD-FW-…, its "<ns>/<name> policy" jumps \
            and "<ns>/<pod> reject"). For each policy: how many packets reached it (the counter of the \
            jump into its chain) and its rules with their counters. Engines that keep policy out of the \
            firewall (Cilium's eBPF, Antrea's OVS) show nothing here. Changes nothing.
            Exit status: 0, 2 an unknown or ambiguous pod, 3 missing privileges.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The pod (NAME, NAMESPACE/NAME or IP).", valueName: "pod"))
    var pod: String

    var podsNamed: [String]? { [pod] }
    var doing: String { "policy \(pod)" }
    func report(_ session: NodeSession) throws -> any Report { try session.policy(pod: pod) }
}

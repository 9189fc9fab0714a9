import Diagnosis
import KernelState
import PathFacts

/// IP_FORWARD_DISABLED: a node that forwards pod traffic (a path crosses it, or it has pod
/// interfaces) with net.ipv4.ip_forward = 0.
public enum IPForwardDisabled: PathCheck {
    public static let codes: [FindingCode] = [.ipForwardDisabled]

    public static func check(_ facts: PathFacts) -> [Finding] {
        guard let node = facts.nodeNamespace else { return [] }
        return check(node.state, label: node.label, why: "The node routes this pod's traffic")
    }

    /// inspect node: only a node with pod interfaces (veths or a bridge) forwards for pods.
    public static func check(node state: NamespaceState, label: String) -> [Finding] {
        guard state.links.contains(where: { $0.kind == "veth" || $0.kind == "bridge" }) else { return [] }
        return check(state, label: label, why: "This node has pod interfaces (veth/bridge) and routes their traffic")
    }

    static func check(_ state: NamespaceState, label: String, why: String) -> [Finding] {
        guard state.ipForwarding == false else { return [] }
        return [Finding(.ipForwardDisabled, .error, "\(why), but net.ipv4.ip_forward is 0.",
                        hop: label, evidence: ["net.ipv4.ip_forward = 0 in \(label)"],
                        remedy: "sysctl -w net.ipv4.ip_forward=1, and persist it in /etc/sysctl.d.")]
    }
}

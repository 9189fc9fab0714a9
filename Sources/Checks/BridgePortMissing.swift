import Diagnosis
import KernelState
import NetlinkCodec
import PathFacts

/// BRIDGE_PORT_MISSING: a pod's host-side veth that is not a bridge port, on a node whose other
/// pod veths are ports of a bridge, and that no route targets either (a routed CNI sends to
/// its veths by route, and is not judged by this rule). One rule for trace, inspect and the agent.
public enum BridgePortMissing: PathCheck {
    public static let codes: [FindingCode] = [.bridgePortMissing]

    public static func check(_ facts: PathFacts) -> [Finding] {
        guard let node = facts.nodeNamespace else { return [] }
        return [facts.node?.hostVeth, facts.destination?.hostSide].compactMap { $0 }.flatMap {
            check($0, node: node.state, label: node.label)
        }
    }

    public static func check(_ veth: Link, node: NamespaceState, label: String) -> [Finding] {
        guard veth.masterIndex == nil else { return [] }
        // The fe80::/64 route every IPv6 interface has sends nothing to a pod.
        let routed = node.routes(through: veth.index).contains { $0.table == .main && $0.destination?.isLinkLocal != true }
        let ports = node.links.filter { $0.kind == "veth" && $0.masterIndex != nil && $0.index != veth.index }
        guard !routed, let bridgeIndex = ports.first?.masterIndex, let bridge = node.link(index: bridgeIndex) else { return [] }
        return [
            Finding(
                .bridgePortMissing, .error, "\(veth.name) is not a port of \(bridge.name), where the node's other pod veths are.",
                hop: "\(label):\(veth.name)",
                evidence: ["\(veth.name): no master, no route via it", "\(ports.count) other veths: master \(bridge.name)"],
                remedy: "ip link set \(veth.name) master \(bridge.name) (or recreate the pod).")
        ]
    }
}

import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// IP_FORWARD_DISABLED: a node that forwards pod traffic (a path crosses it, or it has pod
/// interfaces) with forwarding off in the family of that traffic: net.ipv4.ip_forward = 0, or
/// net.ipv6.conf.all.forwarding = 0 (IPv4 routes while IPv6 pods are cut off).
public enum IPForwardDisabled: PathCheck {
    public static let codes: [FindingCode] = [.ipForwardDisabled]

    public static func check(_ facts: PathFacts) -> [Finding] {
        guard let node = facts.nodeNamespace else { return [] }
        return check(node.state, label: node.label, family: facts.destinationAddress.family, why: "The node routes this pod's traffic")
    }

    /// inspect node: only a node with pod interfaces (veths or a bridge) forwards for pods; IPv6
    /// only when such an interface has a global IPv6 address or route (IPv6 pods).
    public static func check(node state: NamespaceState, label: String) -> [Finding] {
        let podLinks = Set(state.links.filter { $0.kind == "veth" || $0.kind == "bridge" }.map(\.index))
        guard !podLinks.isEmpty else { return [] }
        let why = "This node has pod interfaces (veth/bridge) and routes their traffic"
        let ipv6Pods =
            state.addresses.contains { podLinks.contains($0.interfaceIndex) && $0.address?.isIPv4 == false && $0.scope == .universe }
            || state.mainRoutes.contains {
                $0.outputIndex.map(podLinks.contains) == true && $0.destination?.isIPv4 == false
                    && $0.destination?.isLinkLocal == false && $0.type == .unicast
            }
        return check(state, label: label, family: .ipv4, why: why) + (ipv6Pods ? check(state, label: label, family: .ipv6, why: why) : [])
    }

    static func check(_ state: NamespaceState, label: String, family: IPFamily, why: String) -> [Finding] {
        guard state.forwarding(family) == false else { return [] }
        let sysctl = family == .ipv4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding"
        return [
            Finding(
                .ipForwardDisabled, .error, "\(why), but \(sysctl) is 0\(family == .ipv6 ? ": IPv6 pod traffic is not routed" : "").",
                hop: label, evidence: ["\(sysctl) = 0 in \(label)"],
                remedy: "sysctl -w \(sysctl)=1, and persist it in /etc/sysctl.d.")
        ]
    }
}

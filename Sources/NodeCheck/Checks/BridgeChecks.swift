import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec

/// The node's bridges judged against the CNI's config and kube-proxy's needs:
/// BRIDGE_ADDRESS_MISMATCH and BR_NETFILTER_DISABLED are built here only. Pure.
public enum BridgeChecks {
    /// A bridge carrying an address the bridge plugin will refuse: every new pod then fails with
    /// "cni0 already has an IP address different from …" (after the node's pod subnet changed).
    public static func addressMismatch(_ expectation: BridgeExpectation, node: NamespaceState) -> [Finding] {
        guard !expectation.forceAddress, let bridge = node.link(named: expectation.bridge) else { return [] }
        let held = node.addresses(of: bridge.index).compactMap { address in
            address.address.map { IPPrefix(address: $0, length: Int(address.prefixLength)) }
        }
        var found: [Finding] = []
        for family in IPFamily.allCases {
            let wanted = expectation.expected.filter { $0.address.family == family }
            let present = held.filter { $0.address.family == family && !$0.address.isLinkLocal }
            guard !wanted.isEmpty, !present.isEmpty, !present.contains(where: wanted.contains) else { continue }
            // IPv6: only an overlapping address stops the plugin; IPv4: any other address.
            let conflicting =
                family == .ipv4 ? present : present.filter { p in wanted.contains { $0.contains(p.address) || p.contains($0.address) } }
            guard let first = conflicting.first else { continue }
            found.append(
                Finding(
                    .bridgeAddressMismatch, .error,
                    "\(expectation.bridge) has \(first), but the pod network's gateway is \(wanted.map(\.description).joined(separator: " or ")): the bridge plugin fails every new pod with \"\(expectation.bridge) already has an IP address different from \(wanted[0])\".",
                    hop: "node:\(expectation.bridge)",
                    evidence: [
                        "ip addr show \(expectation.bridge): \(conflicting.map(\.description).joined(separator: ", "))",
                        "expected \(wanted.map(\.description).joined(separator: ", ")) from \(expectation.source)",
                    ],
                    remedy:
                        "The node's pod subnet changed since the bridge was made: once no pod uses it, delete the bridge (`ip link delete \(expectation.bridge)`) and let the plugin make it again, or fix the CNI config if the bridge is right."
                ))
        }
        return found
    }

    /// Pods as bridge ports and kube-proxy's Services in iptables/nftables/IPVS: a pod's packet
    /// to a Service whose endpoint is on the same bridge is bridged, never routed, and only
    /// br_netfilter hands it to the hooks where kube-proxy's DNAT is (kubernetes#24019).
    /// `proxyMode`: kube-proxy's mode when its rules were read; `bridgePorts`: the bridges with
    /// veth ports and the families their pods use.
    public static func netfilterDisabled(
        _ netfilter: BridgeNetfilter, proxyMode: String?, bridges: [(name: String, ports: Int, families: Set<IPFamily>)]
    ) -> [Finding] {
        guard let proxyMode, ["iptables", "nftables", "ipvs"].contains(proxyMode),
            let bridge = bridges.first(where: { $0.ports > 0 })
        else { return [] }
        let families = bridges.reduce(into: Set<IPFamily>()) { $0.formUnion($1.families) }
        var missing: [String] = []
        if !netfilter.loaded {
            missing.append(
                "\(BridgeNetfilter.iptablesSysctl): absent (br_netfilter is not loaded)")
        } else {
            if families.contains(.ipv4), netfilter.callIptables == 0 { missing.append("\(BridgeNetfilter.iptablesSysctl) = 0") }
            if families.contains(.ipv6), netfilter.callIp6tables == 0 { missing.append("\(BridgeNetfilter.ip6tablesSysctl) = 0") }
        }
        guard !missing.isEmpty else { return [] }
        return [
            Finding(
                .brNetfilterDisabled, .error,
                "Pods are ports of \(bridge.name) and kube-proxy works in \(proxyMode) mode, but bridged traffic skips its rules: a pod reaching a Service whose endpoint is on the same bridge (DNS, often) gets no answer.",
                hop: "node:\(bridge.name)",
                evidence: missing + ["\(bridge.name): \(bridge.ports) veth ports", "kube-proxy mode: \(proxyMode)"],
                remedy:
                    "`modprobe br_netfilter`, set net.bridge.bridge-nf-call-iptables=1 (and -ip6tables for IPv6), and persist both (/etc/modules-load.d, /etc/sysctl.d)."
            )
        ]
    }
}

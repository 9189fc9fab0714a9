import Diagnosis

/// LINK_MANAGED_BY_HOST, built here only: a CNI link that systemd-networkd or NetworkManager
/// configures as its own (they strip the CNI's addresses and routes, run DHCP on veths, take
/// vxlan devices down: calicoctl#256, projectcalico/calico#2471, #3271, rancher/rke2#786). Pure.
public enum HostManagerChecks {
    public static func managed(_ links: [ManagedLink]) -> [Finding] {
        links.map { claim in
            // networkd naming the link in its own .network is most likely on purpose: a warning.
            let severity: Severity = claim.manager == "systemd-networkd" && !claim.byPattern ? .warning : .error
            var evidence = ["\(claim.manager): \(claim.link) \(claim.state)"]
            if let configuration = claim.configuration {
                evidence.append(
                    claim.byPattern && claim.manager == "systemd-networkd"
                        ? "\(configuration) matches it by a pattern (or not by name): it takes every such link the CNI makes"
                        : configuration)
            }
            if claim.profileUnknown { evidence.append("its profile is in no keyfile under /run or /etc/NetworkManager/system-connections") }
            return Finding(
                .linkManagedByHost, severity,
                "\(claim.manager) manages \(claim.link), a link of the CNI's: it may remove the addresses and routes the CNI set, or take the link down.",
                hop: "node:\(claim.link)", evidence: evidence,
                remedy: claim.manager == "systemd-networkd"
                    ? "Match the CNI's links with Unmanaged=yes in a .network that sorts before \(claim.configuration ?? "the one that matches"), or narrow that one's [Match] Name=."
                    : "Tell NetworkManager to leave the CNI's links alone: [keyfile] unmanaged-devices+=interface-name:cali*;interface-name:cni*;… in /etc/NetworkManager/conf.d/ (interface-name: is needed for a pattern)."
            )
        }
    }

    /// A CNI link that udev gave the MAC of MACAddressPolicy=persistent after the CNI made it: an
    /// overlay's VTEP (peers learned the MAC it was created with: an error); a veth or bridge (a
    /// warning: the CNI and the bridge's forwarding table may still hold the old one).
    public static func macRewritten(_ links: [RewrittenMAC]) -> [Finding] {
        links.map { link in
            let vtep = ["vxlan", "geneve"].contains(link.kind ?? "")
            return Finding(
                .linkManagedByHost, vtep ? .error : .warning,
                vtep
                    ? "systemd-udevd replaced the MAC of \(link.link), the overlay's VTEP, after the CNI created it: other nodes that learned its first MAC (flannel publishes it as its VtepMAC) send to an address this node no longer has."
                    : "systemd-udevd replaced the MAC of \(link.link), a link of the CNI's, after the CNI created it: what the CNI recorded of it, and neighbours that learned it, name an address the link no longer has.",
                hop: "node:\(link.link)",
                evidence: [
                    "\(link.link) has \(link.mac), the MAC MACAddressPolicy=persistent derives from /etc/machine-id and its name",
                    "udev applied \(link.linkFiles.joined(separator: " with ")) (/run/udev/data)",
                ],
                remedy:
                    "Leave the CNI's links out of MACAddressPolicy: a .link file sorting before \(link.linkFiles.first ?? "99-default.link") with [Match] OriginalName=\(Self.pattern(link.link)) (or Driver=veth) and [Link] MACAddressPolicy=none, then recreate the link (restart the CNI's agent, or the pod)."
            )
        }
    }

    /// A name pattern for the CNI's links of this kind (flannel.1 → flannel*, veth1234 → veth*).
    static func pattern(_ name: String) -> String {
        let stem = name.prefix { $0.isLetter || $0 == "-" || $0 == "_" }
        return stem.isEmpty ? name : "\(stem)*"
    }
}

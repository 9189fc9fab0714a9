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
}

import Diagnosis

/// OVERLAY_WRONG_UNDERLAY, built here only: a VXLAN device that sends from an address or link
/// the node does not reach its peers by (the classic second-NIC VM: flannel bound to the NAT
/// interface every VM has, 10.0.2.15). Pure.
public enum OverlayChecks {
    public static func wrongUnderlay(_ overlay: OverlayUnderlay) -> [Finding] {
        var evidence: [String] = []
        for remote in overlay.remotes {
            guard let interface = remote.interface else { continue }
            if let link = overlay.link, link != interface {
                evidence.append("\(overlay.device) is bound to \(link), but the route to VTEP \(remote.address) leaves by \(interface)")
            } else if let local = overlay.local, let source = remote.source, source != local {
                evidence.append(
                    "\(overlay.device) sends from \(local), but the node reaches VTEP \(remote.address) from \(source) (by \(interface))")
            }
            if let local = overlay.local, remote.address == local {
                evidence.append("a forwarding entry of \(overlay.device) points at \(local), its own local address")
            }
        }
        guard !evidence.isEmpty else { return [] }
        return [
            Finding(
                .overlayWrongUnderlay, .error,
                "\(overlay.device) is bound to the wrong underlay: its encapsulated packets leave from an address or interface the other nodes do not use for this node, so pod traffic between nodes is lost.",
                hop: "node:\(overlay.device)",
                evidence: Array(evidence.prefix(5))
                    + ["ip -d link show \(overlay.device): local \(overlay.local.map { "\($0)" } ?? "any") dev \(overlay.link ?? "any")"],
                remedy:
                    "Bind the overlay to the interface that carries node-to-node traffic (flannel: --iface or --iface-regex; Calico: IP_AUTODETECTION_METHOD; Cilium: --devices), then let the CNI recreate the device."
            )
        ]
    }
}

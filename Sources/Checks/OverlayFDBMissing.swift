import Diagnosis
import KernelState
import PathFacts

/// OVERLAY_FDB_MISSING: the overlay device the request leaves on resolves the route's gateway (the
/// remote VTEP) to a MAC, but holds no forwarding entry for that MAC naming the remote node. (A
/// VTEP that does not resolve is NEIGHBOR_FAILED: NeighborChecks.)
public enum OverlayFDBMissing: PathCheck {
    public static let codes: [FindingCode] = [.overlayFDBMissing]

    public static func check(_ facts: PathFacts) -> [Finding] {
        guard let step = facts.node, let device = step.overlay, let gateway = step.forward?.gateway, step.arrival.index != device.index,
            let node = facts.nodeNamespace
        else { return [] }
        let label = node.label
        let found = node.state.overlayDestination(of: gateway, on: device)
        guard let entry = found?.neighbor, let mac = entry.linkAddress, !entry.state.isBroken else { return [] }
        guard found?.remote == nil else { return [] }
        return [
            Finding(
                .overlayFDBMissing, PathCut(facts).severity,
                "\(device.name) has no forwarding entry for \(mac) (the VTEP of \(gateway)): encapsulated packets have nowhere to go.",
                hop: "\(label):\(device.name)",
                evidence: PathCut(facts).evidence([
                    "neighbour \(gateway) lladdr \(mac)", "bridge fdb: no entry for \(mac) on \(device.name)",
                ]),
                remedy: "Restart the overlay agent, or add it: bridge fdb append \(mac) dev \(device.name) dst REMOTE_NODE_IP.")
        ]
    }
}

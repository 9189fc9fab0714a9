import Diagnosis
import KernelState
import NetAddress
import PathFacts

/// DUPLICATE_IP: more than one interface answers ARP for the destination pod's address on its
/// bridge (one ARP probe, gathered; see AddressClaimProbe). The node's bridge FDB says which
/// port each other claimant is behind; no other namespace is read.
public enum DuplicateIP: PathCheck {
    public static let codes: [FindingCode] = [.duplicateIP]

    public static func check(_ facts: PathFacts) -> [Finding] {
        guard let claims = facts.addressClaims, let step = facts.destination, let interface = step.interface,
            let expected = interface.address, let node = facts.nodeNamespace
        else { return [] }
        let others = claims.filter { $0 != expected }
        guard !others.isEmpty else { return [] }
        let also = others.map { mac in
            let port = node.state.forwardingDatabase.first { $0.linkAddress == mac }.flatMap { node.state.name(ofIndex: $0.interfaceIndex) }
            return "also: \(mac)\(port.map { " (behind \($0))" } ?? "")"
        }
        return [
            Finding(
                .duplicateIP, .error, "\(facts.destinationAddress) is held by more than one interface on this segment: ARP answers race.",
                hop: node.label,
                evidence: [
                    "expected: \(step.podName):\(interface.name) \(expected)",
                    "ARP probe for \(facts.destinationAddress): \(claims.count) answers",
                ] + also,
                remedy: "Remove the duplicate address (an IPAM leak, a static address) and flush the neighbour caches.")
        ]
    }
}

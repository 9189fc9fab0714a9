import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// ADDRESS_TENTATIVE, ADDRESS_DADFAILED, ADDRESS_DEPRECATED: what duplicate address detection
/// and address lifetimes left on the IPv6 addresses a path uses. A tentative gateway does not
/// answer neighbour solicitations (the path fails as NEIGHBOR_FAILED would, for a second or
/// two); a dadfailed address is never used.
public enum AddressState: PathCheck {
    public static let codes: [FindingCode] = [.addressTentative, .addressDADFailed, .addressDeprecated]

    /// The addresses of every interface the path crosses, in the path's family (IPv6 only: IPv4
    /// has no duplicate address detection in the kernel).
    public static func check(_ facts: PathFacts) -> [Finding] {
        guard facts.destinationAddress.family == .ipv6 else { return [] }
        var seen = Set<String>()
        return facts.hops.flatMap { hop -> [Finding] in
            guard let link = hop.link, let namespace = facts.namespaces.first(where: { $0.known == hop.namespace }),
                seen.insert("\(namespace.label)/\(link.index)").inserted
            else { return [] }
            return check(namespace.state.addresses(of: link.index), interface: link.name, label: namespace.label)
        }
    }

    /// inspect: every IPv6 address of the namespace.
    public static func check(table state: NamespaceState, label: String) -> [Finding] {
        state.links.flatMap { check(state.addresses(of: $0.index), interface: $0.name, label: label) }
    }

    static func check(_ addresses: [InterfaceAddress], interface: String, label: String) -> [Finding] {
        addresses.compactMap { entry -> Finding? in
            guard let address = entry.address, !address.isIPv4, let cidr = entry.cidr else { return nil }
            let evidence = ["\(cidr) dev \(interface) in \(label): \(entry.flags.names.joined(separator: " "))"]
            let hop = "\(label):\(interface)"
            if entry.flags.contains(.dadFailed) {
                return Finding(
                    .addressDADFailed, .error,
                    "\(address) on \(interface) in \(label) failed duplicate address detection: another interface on that segment holds it, and the kernel will never use it.",
                    hop: hop, evidence: evidence,
                    remedy:
                        "Find and remove the other holder of \(address) (a leftover namespace, a stale IPAM allocation), then re-add the address or recreate the pod."
                )
            }
            // A link-local address is only briefly tentative and carries no pod traffic.
            if entry.flags.contains(.tentative), !address.isLinkLocal {
                return Finding(
                    .addressTentative, .warning,
                    "\(address) on \(interface) in \(label) is still tentative: until duplicate address detection ends, nothing is sent from it and neighbour solicitations for it go unanswered.",
                    hop: hop, evidence: evidence,
                    remedy:
                        "Trace again in a few seconds; if it stays, DAD is retrying (net.ipv6.conf.\(interface).dad_transmits) or the link has no carrier. CNIs disable DAD on pod interfaces for this delay."
                )
            }
            if entry.flags.contains(.deprecated), !address.isLinkLocal {
                return Finding(
                    .addressDeprecated, .warning,
                    "\(address) on \(interface) in \(label) is deprecated (its preferred lifetime ran out): it is used as a source only when nothing else fits.",
                    hop: hop, evidence: evidence,
                    remedy:
                        "Renew the address (the router advertisement or DHCPv6 lease that gave it), or make a static one's preferred lifetime forever."
                )
            }
            return nil
        }
    }
}

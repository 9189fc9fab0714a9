import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// IPV6_RA_IGNORED: forwarding on and accept_ra below 2 on an interface the node learned its
/// IPv6 default route (or a SLAAC address) from by router advertisement. Linux ignores RAs on a
/// forwarding interface unless accept_ra=2, so what they gave expires and is not renewed: the
/// node loses IPv6 some minutes after a CNI turns forwarding on (SERVICES-POLICY-DNS §4.1).
public enum RouterAdvertisements: PathCheck {
    public static let codes: [FindingCode] = [.ipv6RAIgnored]

    /// On the node of an IPv6 path (it routes the pod's traffic out through that default route).
    public static func check(_ facts: PathFacts) -> [Finding] {
        guard facts.destinationAddress.family == .ipv6, let node = facts.nodeNamespace else { return [] }
        return check(node: node.state, label: node.label)
    }

    public static func check(node state: NamespaceState, label: String) -> [Finding] {
        state.links.compactMap { link -> Finding? in
            let learned = learnedByRA(state, interface: link.index)
            guard !learned.isEmpty, let acceptRA = state.ipv6Setting("accept_ra", of: link.name), acceptRA != 2,
                  (state.ipv6Setting("forwarding", of: link.name) ?? (state.ipv6Forwarding == true ? 1 : 0)) == 1 else { return nil }
            return Finding(.ipv6RAIgnored, .error,
                           "IPv6 forwarding is on and accept_ra is \(acceptRA) on \(link.name) in \(label): the kernel ignores its router advertisements, so \(learned[0].what) \(learned[0].fate).",
                           hop: "\(label):\(link.name)",
                           evidence: ["net.ipv6.conf.\(link.name).forwarding = 1", "net.ipv6.conf.\(link.name).accept_ra = \(acceptRA)"] + learned.map(\.evidence),
                           remedy: "sysctl -w net.ipv6.conf.\(link.name).accept_ra=2 (accept router advertisements while forwarding) and persist it in /etc/sysctl.d; the route returns with the next advertisement.")
        }
    }

    /// What router advertisements gave on an interface: default routes (proto ra) and SLAAC
    /// addresses (global, not permanent: they carry lifetimes).
    static func learnedByRA(_ state: NamespaceState, interface: Int32) -> [(what: String, fate: String, evidence: String)] {
        let routes = state.mainRoutes.filter {
            $0.outputIndex == interface && $0.protocolID == Route.protocolRA && $0.destination?.isIPv4 != true && $0.destinationLength == 0
        }.map { route in
            let expiry = route.expiresSeconds.map { "expires in \($0) s" } ?? "will expire"
            return (what: "the default route via \(route.gateway?.description ?? "?") it gave", fate: "\(expiry) and will not be renewed",
                    evidence: "default via \(route.gateway?.description ?? "?") proto ra (\(expiry))")
        }
        let addresses = state.addresses(of: interface).filter {
            $0.address?.isIPv4 == false && $0.address?.isLinkLocal == false && !$0.flags.contains(.permanent)
        }.map { entry in
            (what: "its SLAAC address \(entry.cidr ?? "?")", fate: "will expire",
             evidence: "\(entry.cidr ?? "?") dynamic (learned from router advertisements)")
        }
        return routes + addresses
    }
}

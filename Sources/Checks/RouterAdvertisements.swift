import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// IPV6_RA_IGNORED: forwarding on and accept_ra below 2 on an interface the node learned its
/// IPv6 default route (or a SLAAC address) from by router advertisement. Linux ignores RAs on a
/// forwarding interface unless accept_ra=2, so what they gave expires and is not renewed: the
/// node loses IPv6 some minutes after a CNI turns forwarding on (SERVICES-POLICY-DNS §4.1).
/// Once the route has expired nothing of it is left to see (cilium/cilium#21819,
/// k3s-io/k3s#5019): then the configuration is the evidence, on the node's uplink (an interface
/// with a global IPv6 address that carries the node's traffic out) when the node has no IPv6
/// default route at all.
public enum RouterAdvertisements: PathCheck {
    public static let codes: [FindingCode] = [.ipv6RAIgnored]

    /// On the node of an IPv6 path (it routes the pod's traffic out through that default route).
    public static func check(_ facts: PathFacts) -> [Finding] {
        guard facts.destinationAddress.family == .ipv6, let node = facts.nodeNamespace else { return [] }
        return check(node: node.state, label: node.label)
    }

    public static func check(node state: NamespaceState, label: String) -> [Finding] {
        // Every route looked at once, whatever the number of interfaces (a node has thousands of
        // veths and tens of thousands of routes).
        var raDefaults: [Int32: [Route]] = [:]
        var hasIPv6Default = false
        // Uplinks: where routes leave through a gateway that is not the node's own (cilium_host
        // routes pods via its own address) and overlays' underlays; never an overlay, tunnel or
        // bridge itself (their routes are the pod network's).
        var uplinks: Set<Int32> = []
        let own = Set(state.addresses.compactMap(\.address))
        let podSide = Tunnels.overlayKinds.union(["ip6tnl", "sit", "gre", "ip6gre", "bridge", "dummy", "tun", "vti", "netkit"])
        for route in state.routes where route.table == .main {
            if route.destination?.isIPv4 != true, route.destinationLength == 0, route.type == .unicast {
                hasIPv6Default = true
                if route.origin == .routerAdvertisement, let out = route.outputIndex { raDefaults[out, default: []].append(route) }
            }
            if let gateway = route.gateway, !own.contains(gateway), let out = route.outputIndex,
                !podSide.contains(state.link(index: out)?.kind ?? "")
            {
                uplinks.insert(out)
            }
        }
        for link in state.links where link.isLinkLayerOverlay {
            if let underlay = link.linkIndex { uplinks.insert(underlay) }
        }
        var routers: [Int32: Neighbor] = [:]
        for neighbor in state.neighbors where neighbor.destination?.isIPv4 == false && neighbor.flags & Neighbor.flagRouter != 0 {
            routers[neighbor.interfaceIndex] = routers[neighbor.interfaceIndex] ?? neighbor
        }
        return state.links.compactMap { link -> Finding? in
            guard let acceptRA = state.ipv6Setting("accept_ra", of: link.name), acceptRA < 2,
                (state.ipv6Setting("forwarding", of: link.name) ?? (state.ipv6Forwarding == true ? 1 : 0)) == 1
            else { return nil }
            let settings = ["net.ipv6.conf.\(link.name).forwarding = 1", "net.ipv6.conf.\(link.name).accept_ra = \(acceptRA)"]
            let remedy =
                "sysctl -w net.ipv6.conf.\(link.name).accept_ra=2 (accept router advertisements while forwarding) and persist it in /etc/sysctl.d; the route returns with the next advertisement."
            let learned = learnedByRA(state, routes: raDefaults[link.index] ?? [], interface: link.index)
            if !learned.isEmpty {
                return Finding(
                    .ipv6RAIgnored, .error,
                    "IPv6 forwarding is on and accept_ra is \(acceptRA) on \(link.name) in \(label): the kernel ignores its router advertisements, so \(learned[0].what) \(learned[0].fate).",
                    hop: "\(label):\(link.name)", evidence: settings + learned.map(\.evidence), remedy: remedy)
            }
            // Nothing learned is left: say it only where a default route should come from
            // advertisements (accept_ra 1, the kernel's default; 0 means routes are set by hand)
            // on an uplink with a global address, and the node has none.
            let global = state.addresses(of: link.index).filter { $0.address?.isIPv4 == false && $0.address?.isLinkLocal == false }
            guard acceptRA == 1, !hasIPv6Default, let address = global.first, uplinks.contains(link.index) || routers[link.index] != nil
            else { return nil }
            let router = routers[link.index]
            let seen = router.map {
                "router \($0.destination?.description ?? "?") in the neighbour table (it advertises; the kernel ignores it)"
            }
            return Finding(
                .ipv6RAIgnored, router != nil ? .error : .warning,
                "\(label) has no IPv6 default route, and IPv6 forwarding is on with accept_ra \(acceptRA) on its uplink \(link.name): the kernel ignores router advertisements there, so a default route they gave has expired and will not come back\(router != nil ? "" : " (if this network's router advertises one)").",
                hop: "\(label):\(link.name)",
                evidence: settings + ["no IPv6 default route in the main table", "\(address.cidr ?? "?") on \(link.name)"]
                    + (seen.map { [$0] } ?? []),
                remedy: remedy)
        }
    }

    /// What router advertisements gave on an interface: default routes (proto ra, `routes`) and
    /// SLAAC addresses (global, not permanent: they carry lifetimes).
    static func learnedByRA(_ state: NamespaceState, routes: [Route], interface: Int32) -> [(what: String, fate: String, evidence: String)]
    {
        let routes = routes.map { route in
            let expiry = route.expiresSeconds.map { "expires in \($0) s" } ?? "will expire"
            return (
                what: "the default route via \(route.gateway?.description ?? "?") it gave", fate: "\(expiry) and will not be renewed",
                evidence: "default via \(route.gateway?.description ?? "?") proto ra (\(expiry))"
            )
        }
        let addresses = state.addresses(of: interface).filter {
            $0.address?.isIPv4 == false && $0.address?.isLinkLocal == false && !$0.flags.contains(.permanent)
        }.map { entry in
            (
                what: "its SLAAC address \(entry.cidr ?? "?")", fate: "will expire",
                evidence: "\(entry.cidr ?? "?") dynamic (learned from router advertisements)"
            )
        }
        return routes + addresses
    }
}

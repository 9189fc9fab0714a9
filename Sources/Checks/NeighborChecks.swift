import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// NEIGHBOR_FAILED and NEIGHBOR_MAC_MISMATCH: the source's next hop (the gateway, or the
/// destination itself on-link), the node's underlay gateway and the overlay's remote VTEP, as
/// the neighbour tables hold them; the node's table as read again after the probe, for an entry
/// only a packet creates.
public enum NeighborChecks: PathCheck {
    public static let codes: [FindingCode] = [.neighborFailed, .neighborMACMismatch]

    public static func check(_ facts: PathFacts) -> [Finding] {
        var findings: [Finding] = []
        findings += sourceNextHop(facts, neighbors: nil)
        // A request that fell through to the default route is NO_ROUTE's: its gateway is not where it should go.
        if let node = facts.nodeNamespace, let gateway = facts.node?.gateway, let out = facts.node?.output,
            NoRoute.fellThrough(facts) == nil
        {
            findings += check(gateway, on: out, in: node.state, label: node.label, namespace: node.known, cut: PathCut(facts))
            findings += pinned(gateway, on: out, facts: facts)
        }
        return findings + overlayVTEP(facts)
    }

    /// The node's next hop pinned by a static (permanent) neighbour entry to a MAC that is not
    /// the one answering for the address now: the kernel never re-checks a static entry, so every
    /// packet goes to a MAC nobody on the segment has (a replaced router, a moved address).
    static func pinned(_ gateway: IPAddress, on link: Link, facts: PathFacts) -> [Finding] {
        guard let node = facts.nodeNamespace, let claims = facts.gatewayClaims, !claims.isEmpty,
            let entry = node.state.neighbor(gateway, on: link.index),
            entry.state.contains(.permanent), let mac = entry.linkAddress, !claims.contains(mac)
        else { return [] }
        let how = gateway.isIPv4 ? "ARP" : "neighbour solicitation"
        return [
            Finding(
                .neighborMACMismatch, .error,
                "\(node.label) sends to its next hop \(gateway) at \(mac), pinned by a static neighbour entry, but \(gateway) answers \(how) as \(claims.map(\.description).joined(separator: ", ")): every packet goes to a MAC nobody has.",
                hop: "\(node.label):\(link.name)",
                evidence: [
                    "\(gateway) dev \(link.name) lladdr \(mac) \(entry.state.names.joined(separator: ","))",
                    "\(how) for \(gateway) on \(link.name) answered by \(claims.map(\.description).joined(separator: ", "))",
                ],
                remedy:
                    "ip\(node.known.isNode ? "" : " -n \(node.known.name)") neigh replace \(gateway) lladdr \(claims[0]) dev \(link.name) (or delete the entry and let the kernel resolve it), and find what pinned it (a static entry in the node's network configuration)."
            )
        ]
    }

    /// The overlay device the request leaves on must resolve the route's gateway (the remote
    /// VTEP) to a MAC: the overlay agent programs that entry, nothing answers ARP for it.
    static func overlayVTEP(_ facts: PathFacts) -> [Finding] {
        guard let step = facts.node, let device = step.overlay, let gateway = step.forward?.gateway, step.arrival.index != device.index,
            let node = facts.nodeNamespace
        else { return [] }
        let entry = node.state.overlayDestination(of: gateway, on: device)?.neighbor
        guard entry?.linkAddress == nil || entry?.state.isBroken == true else { return [] }
        let cut = PathCut(facts)
        return [
            Finding(
                .neighborFailed, cut.severity, "\(device.name) has no usable neighbour entry for the remote VTEP \(gateway).",
                hop: "\(node.label):\(device.name)",
                evidence: cut.evidence([
                    entry.map { "\(gateway) dev \(device.name) \($0.state.names.joined(separator: ","))" }
                        ?? "no neighbour entry for \(gateway) on \(device.name)"
                ]),
                remedy:
                    "The overlay agent (flanneld) programs it; restart it, or add it: ip neigh replace \(gateway) lladdr REMOTE_VTEP_MAC dev \(device.name) nud permanent."
            )
        ]
    }

    /// The node's underlay gateway and the source's own next hop in the neighbour tables as read
    /// again after a probe that got no answer: only a sent packet makes the kernel resolve them.
    /// `explained`: an error already accounts for the lost probe (a link down, forwarding off:
    /// either also stops the gateway's answer), so the source's next hop is not judged again.
    public static func afterProbe(_ facts: PathFacts, explained: Bool = false) -> [Finding] {
        var findings = explained ? [] : facts.sourceNeighborsAfterProbe.map { sourceNextHop(facts, neighbors: $0) } ?? []
        guard let node = facts.nodeNamespace, let after = facts.neighborsAfterProbe, let gateway = facts.node?.gateway,
            let out = facts.node?.output, NoRoute.fellThrough(facts) == nil
        else { return findings }
        var state = node.state
        state.neighbors = after
        findings += check(gateway, on: out, in: state, label: node.label, namespace: node.known)
        return findings
    }

    /// The source's next hop (its gateway, or the destination on-link) in its neighbour table
    /// (`neighbors`: as read again after the probe). A gateway no interface of the node holds
    /// is answered by proxy ARP on the host veth (calico's 169.254.1.1): a failure names the
    /// veth and its proxy_arp, the one setting that makes it answer.
    static func sourceNextHop(_ facts: PathFacts, neighbors: [Neighbor]?) -> [Finding] {
        guard let step = facts.source, let source = facts.sourceNamespace, let interface = step.interface, let route = step.route,
            let nextHop = route.gateway ?? (route.outputIndex != nil ? facts.destinationAddress : nil)
        else { return [] }
        var state = source.state
        if let neighbors { state.neighbors = neighbors }
        let cut = PathCut(facts)
        if route.gateway != nil, let proxied = proxyAnswerer(of: nextHop, facts: facts),
            let entry = state.neighbor(nextHop, on: interface.index), entry.state.isBroken
        {
            return [proxyARPFailed(nextHop, on: interface, entry: entry, proxied: proxied, source: source, facts: facts, cut: cut)]
        }
        return check(
            nextHop, on: interface, in: state, label: source.label, namespace: source.known,
            expectedMAC: expectedMAC(of: nextHop, facts: facts), cut: cut)
    }

    /// A gateway only proxy ARP answers that does not answer: names the host veth and the
    /// setting (its proxy_arp, or forwarding) that makes it answer.
    static func proxyARPFailed(
        _ gateway: IPAddress, on interface: Link, entry: Neighbor, proxied: (veth: Link, enabled: Bool?),
        source: NamespaceFacts, facts: PathFacts, cut: PathCut
    ) -> Finding {
        let states = entry.state.names.joined(separator: ",")
        let setting = "net.ipv4.conf.\(proxied.veth.name).proxy_arp"
        let forwarding = facts.nodeNamespace?.state.interfaceSetting(.ipv4, "forwarding", of: proxied.veth.name).map(String.init)
        let message =
            "\(gateway), \(source.label)'s gateway, does not answer ARP on \(interface.name) (\(states)): "
            + "no interface holds it, so \(facts.nodeLabel):\(proxied.veth.name) must answer by proxy ARP"
            + (proxied.enabled == false
                ? ", and its proxy_arp is off."
                : forwarding == "0" ? ", which the kernel does only where forwarding is on, and it is off there." : ".")
        var evidence = [
            "\(gateway) dev \(interface.name) \(states)", "\(setting) = \(proxied.enabled.map { $0 ? "1" : "0" } ?? "not read")",
        ]
        if let forwarding { evidence.append("net.ipv4.conf.\(proxied.veth.name).forwarding = \(forwarding)") }
        let remedy =
            proxied.enabled == false
            ? "Turn it back on (the CNI sets it when it wires the pod): sysctl -w \(setting)=1; recreate the pod if the CNI keeps other state."
            : forwarding == "0"
                ? "Turn forwarding on: sysctl -w net.ipv4.ip_forward=1 (or net.ipv4.conf.\(proxied.veth.name).forwarding=1)."
                : "Check \(proxied.veth.name) is up and that nothing filters ARP on it."
        return Finding(
            .neighborFailed, cut.severity, message, hop: "\(source.label):\(interface.name)", evidence: cut.evidence(evidence),
            remedy: remedy)
    }

    /// The host veth that must answer for a gateway no interface of the node holds, and whether
    /// its proxy_arp is on (nil: not read).
    static func proxyAnswerer(of gateway: IPAddress, facts: PathFacts) -> (veth: Link, enabled: Bool?)? {
        guard let node = facts.nodeNamespace?.state, let hostVeth = facts.node?.hostVeth, hostVeth.masterIndex == nil,
            !node.addresses.contains(where: { $0.address == gateway })
        else { return nil }
        // The kernel ORs the interface's setting with conf.all's.
        let value = node.interfaceSetting(.ipv4, "proxy_arp", of: hostVeth.name)
        return (hostVeth, value.map { $0 != 0 || node.sysctls["net.ipv4.conf.all.proxy_arp"] == "1" })
    }

    /// The MAC the source's next hop should have: the bridge's, or the host veth's (ptp, or a
    /// proxy-ARP gateway such as calico's).
    static func expectedMAC(of address: IPAddress, facts: PathFacts) -> LinkAddress? {
        guard let node = facts.nodeNamespace?.state, let hostVeth = facts.node?.hostVeth else { return nil }
        if let master = hostVeth.masterIndex, let bridge = node.link(index: master),
            node.addresses(of: bridge.index).contains(where: { $0.address == address })
        {
            return bridge.address
        }
        if let proxied = proxyAnswerer(of: address, facts: facts), proxied.enabled == true { return proxied.veth.address }
        return node.addresses(of: hostVeth.index).contains(where: { $0.address == address }) ? hostVeth.address : nil
    }

    public static func check(
        _ address: IPAddress, on link: Link, in state: NamespaceState, label: String, namespace: KnownNamespace,
        expectedMAC: LinkAddress? = nil, cut: PathCut = PathCut()
    ) -> [Finding] {
        guard let entry = state.neighbor(address, on: link.index) else { return [] }
        let states = entry.state.names.joined(separator: ",")
        if entry.state.isBroken {
            return [
                Finding(
                    .neighborFailed, cut.severity,
                    "\(address) does not answer \(address.isIPv4 ? "ARP" : "neighbour solicitation (NDP)") on \(link.name) in \(label) (\(states)).",
                    hop: "\(label):\(link.name)", evidence: cut.evidence(["\(address) dev \(link.name) \(states)"]),
                    remedy: "Check that the next hop \(address) exists and is up on that segment (and the route that names it).")
            ]
        }
        if let expectedMAC, let mac = entry.linkAddress, mac != expectedMAC {
            return [
                Finding(
                    .neighborMACMismatch, .error, "\(label) sends to \(address) at \(mac), but \(address) is \(expectedMAC).",
                    hop: "\(label):\(link.name)",
                    evidence: ["\(address) dev \(link.name) lladdr \(mac) \(states)", "the next hop's MAC: \(expectedMAC)"],
                    remedy:
                        "ip\(namespace.isNode ? "" : " -n \(namespace.name)") neigh del \(address) dev \(link.name), and find what set it (a static entry, a duplicate IP)."
                )
            ]
        }
        return []
    }

    /// inspect: every entry of a namespace that failed to resolve (a warning: nothing says a
    /// path needs it).
    public static func check(table state: NamespaceState, label: String) -> [Finding] {
        state.neighbors.filter { $0.state.isBroken && !$0.state.contains(.noARP) }.compactMap { entry in
            guard let address = entry.destination else { return nil }
            let interface = state.name(ofIndex: entry.interfaceIndex) ?? "if\(entry.interfaceIndex)"
            let states = entry.state.names.joined(separator: ",")
            return Finding(
                .neighborFailed, .warning, "The neighbour \(address) on \(interface) does not answer (\(states)).",
                hop: "\(label):\(interface)", evidence: ["\(address) dev \(interface) \(states)"],
                remedy: "Check that \(address) exists and is up on that segment.")
        }
    }
}

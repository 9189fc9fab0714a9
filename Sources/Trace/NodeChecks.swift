import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec

/// Static checks on the kernel state along the path.
enum NodeChecks {
    /// LINK_DOWN for each hop that is down. A link set down (IFF_UP cleared) takes its veth peer
    /// and a bridge it was the only port of with it: those follow from it, and are its evidence
    /// rather than errors of their own.
    static func links(_ hops: [TraceHop]) -> [Finding] {
        let down = hops.filter { hop in
            guard let link = hop.link else { return false }
            return !link.isUp || link.operState == .down || link.operState == .lowerLayerDown
        }
        let causes = down.filter { !$0.link!.isUp }
        let consequences = causes.isEmpty ? [] : down.filter { $0.link!.isUp }
        return (causes.isEmpty ? down : causes).map { hop in
            let link = hop.link!
            let place = hop.node.map { "\(hop.namespace.name) on \($0)" } ?? hop.namespace.name
            let followers = consequences.map { "\($0.name): up, operstate \($0.link!.operState.name) (follows)" }
            return Finding(.linkDown, .error, "\(hop.interface) in \(place) is down: the path is cut there.",
                           hop: hop.name, evidence: ["\(hop.interface): \(link.isUp ? "up" : "IFF_UP not set"), operstate \(link.operState.name)"] + followers,
                           remedy: "ip\(hop.namespace.name == "node" ? "" : " -n \(hop.namespace.name)") link set \(hop.interface) up, and find what set it down.")
        }
    }

    static func forwarding(_ node: NamespaceSnapshot) -> [Finding] {
        guard node.state.ipForwarding == false else { return [] }
        return [Finding(.ipForwardDisabled, .error, "The node routes this pod's traffic, but net.ipv4.ip_forward is 0.",
                        hop: node.known.name, evidence: ["net.ipv4.ip_forward = 0 in \(node.known.name)"],
                        remedy: "sysctl -w net.ipv4.ip_forward=1, and persist it in /etc/sysctl.d.")]
    }

    /// A host veth with no bridge, while the node's other pod veths are bridge ports.
    static func bridgePort(_ veth: Link, node: NamespaceSnapshot) -> [Finding] {
        guard veth.masterIndex == nil else { return [] }
        let ports = node.state.links.filter { $0.kind == "veth" && $0.masterIndex != nil && $0.index != veth.index }
        guard let bridgeIndex = ports.first?.masterIndex, let bridge = node.state.link(index: bridgeIndex) else { return [] }
        return [Finding(.bridgePortMissing, .error, "\(veth.name) is not a port of \(bridge.name), where the node's other pod veths are.",
                        hop: "\(node.known.name):\(veth.name)", evidence: ["\(veth.name): no master", "\(ports.count) other veths: master \(bridge.name)"],
                        remedy: "ip link set \(veth.name) master \(bridge.name) (or recreate the pod).")]
    }

    /// The MAC the source's next hop should have: the bridge's, or the host veth's (ptp).
    static func expectedMAC(of address: IPAddress, node: NamespaceSnapshot?, hostVeth: Link?) -> LinkAddress? {
        guard let node, let hostVeth else { return nil }
        if let master = hostVeth.masterIndex, let bridge = node.state.link(index: master),
           node.state.addresses(of: bridge.index).contains(where: { $0.address == address }) {
            return bridge.address
        }
        if node.state.addresses(of: hostVeth.index).contains(where: { $0.address == address }) { return hostVeth.address }
        return nil
    }

    static func neighbor(_ address: IPAddress, on link: Link, in snapshot: NamespaceSnapshot, expectedMAC: LinkAddress? = nil) -> [Finding] {
        guard let entry = snapshot.state.neighbors.first(where: { $0.destination == address && $0.interfaceIndex == link.index }) else { return [] }
        if entry.state.isBroken {
            return [Finding(.neighborFailed, .error, "\(address) does not answer ARP on \(link.name) in \(snapshot.known.name) (\(entry.state.names.joined(separator: ","))).",
                            hop: "\(snapshot.label):\(link.name)", evidence: ["\(address) dev \(link.name) \(entry.state.names.joined(separator: ","))"],
                            remedy: "Check that the next hop \(address) exists and is up on that segment (and the route that names it).")]
        }
        if let expectedMAC, let mac = entry.linkAddress, mac != expectedMAC {
            return [Finding(.neighborMACMismatch, .error, "\(snapshot.label) sends to \(address) at \(mac), but \(address) is \(expectedMAC).",
                            hop: "\(snapshot.label):\(link.name)",
                            evidence: ["\(address) dev \(link.name) lladdr \(mac) \(entry.state.names.joined(separator: ","))", "the next hop's MAC: \(expectedMAC)"],
                            remedy: "ip\(snapshot.known.name == "node" ? "" : " -n \(snapshot.known.name)") neigh del \(address) dev \(link.name), and find what set it (a static entry, a duplicate IP).")]
        }
        return []
    }

    /// An overlay device: the neighbour of the remote VTEP, and the FDB entry that says which
    /// node it is behind.
    static func overlay(_ device: Link, route: Route, node: NamespaceSnapshot) -> ([Finding], IPAddress?, Link?) {
        var findings: [Finding] = []
        let underlay = device.vxlan?.underlayIndex.flatMap { node.state.link(index: Int32($0)) }
        guard let gateway = route.gateway else { return (findings, nil, underlay) }
        let entry = node.state.neighbors.first { $0.destination == gateway && $0.interfaceIndex == device.index }
        guard let entry, let mac = entry.linkAddress, !entry.state.isBroken else {
            findings.append(Finding(.neighborFailed, .error, "\(device.name) has no usable neighbour entry for the remote VTEP \(gateway).",
                                    hop: "\(node.known.name):\(device.name)",
                                    evidence: [entry.map { "\(gateway) dev \(device.name) \($0.state.names.joined(separator: ","))" } ?? "no neighbour entry for \(gateway) on \(device.name)"],
                                    remedy: "The overlay agent (flanneld) programs it; restart it, or add it: ip neigh replace \(gateway) lladdr REMOTE_VTEP_MAC dev \(device.name) nud permanent."))
            return (findings, nil, underlay)
        }
        guard let fdb = node.state.forwardingDatabase.first(where: { $0.linkAddress == mac && $0.interfaceIndex == device.index }),
              let remote = fdb.destination else {
            findings.append(Finding(.overlayFDBMissing, .error, "\(device.name) has no forwarding entry for \(mac) (the VTEP of \(gateway)): encapsulated packets have nowhere to go.",
                                    hop: "\(node.known.name):\(device.name)",
                                    evidence: ["neighbour \(gateway) lladdr \(mac)", "bridge fdb: no entry for \(mac) on \(device.name)"],
                                    remedy: "Restart the overlay agent, or add it: bridge fdb append \(mac) dev \(device.name) dst REMOTE_NODE_IP."))
            return (findings, nil, underlay)
        }
        return (findings, remote, underlay)
    }

    /// Another interface on the segment answers for the destination's address.
    static func duplicateAddress(_ address: IPAddress, expected: Link?, owner: String, source: NamespaceSnapshot, node: NamespaceSnapshot,
                                 directory: NamespaceDirectory) -> [Finding] {
        guard let expected, let expectedMAC = expected.address else { return [] }
        var owners: [String] = []
        for port in node.state.links where port.kind == "veth" && port.masterIndex != nil {
            guard let nsid = port.linkNetnsID, nsid >= 0, let peerIndex = port.linkIndex,
                  let other = directory.resolve(nsid: nsid, seenFrom: node.known, socket: node.socket),
                  let opened = try? directory.open(other), let state = try? NamespaceReader.read(opened),
                  let peer = state.link(index: peerIndex), peer.address != expectedMAC,
                  state.addresses(of: peerIndex).contains(where: { $0.address == address }) else { continue }
            owners.append("\(other.name):\(peer.name) \(peer.address?.description ?? "?") (behind \(port.name))")
        }
        guard !owners.isEmpty else { return [] }
        return [Finding(.duplicateIP, .error, "\(address) is held by more than one interface on this segment: ARP answers race.",
                        hop: "\(node.known.name)", evidence: ["expected: \(owner):\(expected.name) \(expectedMAC)"] + owners.map { "also: \($0)" },
                        remedy: "Remove the duplicate address (an IPAM leak, a static address) and flush the neighbour caches.")]
    }
}

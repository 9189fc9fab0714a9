import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// NO_ROUTE: a namespace on the path has no route for the request or its replies. Decided from
/// the kernel's own answers to the lookups a packet would cause (a lookup that could not be
/// asked is COLLECTION_FAILED, not this); from the probe when the packets stop with no other
/// cause; and, for inspect, a pod without a default route.
public enum NoRoute: PathCheck {
    public static let codes: [FindingCode] = [.noRoute]

    public static func check(_ facts: PathFacts) -> [Finding] {
        var findings: [Finding] = []
        let cut = PathCut(facts)
        let on = facts.nodeName.map { " on \($0)" } ?? ""
        let source = facts.sourceAddress, destination = facts.destinationAddress
        let forwarding = facts.nodeNamespace?.state.ipForwarding != false
        if facts.node?.missingOverlay == true, let underlay = facts.node?.arrival {
            findings.append(
                Finding(
                    .noRoute, cut.severity,
                    "\(facts.nodeLabel) has no overlay device: encapsulated packets arriving on \(underlay.name) are never unwrapped.",
                    hop: "\(facts.nodeLabel):\(underlay.name)",
                    evidence: cut.evidence(["no vxlan or geneve link in \(facts.nodeLabel)'s namespace"]),
                    remedy: "Start the overlay agent (flanneld) on \(facts.nodeLabel), or check that both nodes use the same backend."))
        }
        if let fell = fellThrough(facts) { findings.append(fell.finding) }
        for lookup in facts.lookups {
            guard case .noRoute(let why) = lookup.answer else { continue }
            let evidence = ["route \(lookup.query)\(lookup.inputName.map { " (iif \($0))" } ?? "") in \(lookup.namespace)\(on): \(why)"]
            let via = lookup.inputName ?? "?"
            switch lookup.purpose {
            case .sourceRoute:
                findings.append(
                    Finding(
                        .noRoute, cut.severity, "\(lookup.namespace) has no route to \(destination).", hop: lookup.namespace,
                        evidence: cut.evidence(evidence),
                        remedy: "Check the pod's routes (the CNI's IPAM routes give it a default via the gateway)."))
            case .forward where forwarding:
                // With forwarding off every input lookup fails: IP_FORWARD_DISABLED says it already.
                findings.append(
                    Finding(
                        .noRoute, cut.severity,
                        "\(lookup.namespace) has no route to \(destination) for traffic from \(source) arriving on \(via).",
                        hop: "\(lookup.namespace):\(via)", evidence: cut.evidence(evidence),
                        remedy: "Restore the route the CNI installs for that subnet (restart its agent), then trace again."))
            case .repliesIn:
                findings.append(
                    Finding(
                        .noRoute, cut.severity, "Replies from \(destination) arriving on \(via) have no route to \(source).",
                        hop: "\(lookup.namespace):\(via)", evidence: cut.evidence(evidence),
                        remedy:
                            "Restore the route to this node's pod subnet (the CNI's bridge or per-pod route), and check rp_filter on \(via)."
                    ))
            case .podReplies:
                let interface = facts.destination?.interface?.name
                findings.append(
                    Finding(
                        .noRoute, cut.severity, "\(lookup.namespace)\(on) has no route back to \(source): replies cannot leave.",
                        hop: interface.map { "\(lookup.namespace):\($0)" } ?? lookup.namespace, evidence: cut.evidence(evidence),
                        remedy: "Restore the pod's default route via its gateway."))
            case .repliesForwarded where forwarding && facts.answer(.podReplies)?.route != nil:
                findings.append(
                    Finding(
                        .noRoute, cut.severity,
                        "Replies from \(facts.destination?.podName ?? destination.description) arriving on \(via) have no route back to \(source)\(on).",
                        hop: "\(lookup.namespace):\(via)", evidence: cut.evidence(evidence),
                        remedy:
                            "Restore \(lookup.namespace)'s route to the source's pod subnet (the overlay's or the node route the CNI installs)."
                    ))
            default: break
            }
        }
        return findings
    }

    /// The node's forwarding decision sends the request out a route meant for elsewhere (its
    /// default route, typically) although the destination is a pod of this node (its /32 or
    /// bridge route is missing) or lies in a remote calico block (its block route over the
    /// overlay is missing). Without this, the gateway it fell through to would be blamed.
    public static func fellThrough(_ facts: PathFacts) -> (finding: Finding, missing: String)? {
        guard let node = facts.nodeNamespace, let step = facts.node, let answer = step.forward, let out = step.output else { return nil }
        // The FIB entry the lookup matched (its prefix), not the lookup's answer (a /32).
        let route = facts.lookups.last { $0.purpose == .configured && $0.inputName != nil }?.answer.route ?? answer
        // The node itself holds the address (a local route): a duplicate, not a missing route.
        guard route.type != .local, answer.type != .local else { return nil }
        let destination = facts.destinationAddress, cut = PathCut(facts)
        let via = "\(route.destinationText)\(answer.gateway.map { " via \($0)" } ?? "") dev \(out.name)"
        let evidence = ["route \(destination) (iif \(step.arrival.name)) in \(node.label): \(via)"]
        if let pod = facts.destination, let hostSide = pod.hostSide, hostSide.index != out.index, hostSide.masterIndex != out.index {
            let missing = "\(destination) dev \(hostSide.name) scope link"
            return (
                Finding(
                    .noRoute, cut.severity,
                    "\(node.label) has no route to \(pod.podName) (\(destination)) through its host veth \(hostSide.name): the request falls through to \(via).",
                    hop: "\(node.label):\(step.arrival.name)", evidence: cut.evidence(evidence + ["missing: \(missing)"]),
                    remedy:
                        "The CNI adds that route when it wires the pod (calico's felix keeps it): restart the CNI's node agent, or recreate the pod; by hand: ip route add \(missing)."
                ),
                missing
            )
        }
        // Only a route less specific than the block itself (the default, typically) is a fall-through:
        // a route for the block that names a wrong gateway is that gateway's failure.
        guard facts.destination == nil, step.overlay == nil, let block = remoteBlock(holding: destination, in: node.state),
            Int(route.destinationLength) < block.prefix.length
        else { return nil }
        let missing = "\(block.prefix) via \(block.vtep) dev \(block.device.name) onlink"
        let calico = block.owner == .calico
        let defaultRoute = route.destinationLength == 0
        return (
            Finding(
                .noRoute, cut.severity,
                "\(node.label) has no route for the pod \(calico ? "block" : "subnet") \(block.prefix) of the node at \(block.node): the request to \(destination) falls through to \(via)\(defaultRoute ? ", the default route, which leads out of the cluster's pod network" : "").",
                hop: "\(node.label):\(step.arrival.name)",
                evidence: cut.evidence(
                    evidence + [
                        "\(block.device.name) knows the VTEP \(block.vtep) at \(block.node) (neighbour and FDB entries); \(calico ? "calico gives a node's VTEP an address of its block" : "flannel gives a node's VTEP its subnet's first address") (\(block.sizeFrom))",
                        "missing: \(missing)",
                    ]),
                remedy: calico
                    ? "felix programs the block routes over \(block.device.name) (from the IPAM blocks in its datastore): check calico-node on this node, then trace again; by hand: ip route add \(missing)."
                    : "flanneld programs a route per node's subnet over \(block.device.name) (from its subnet leases): check flanneld on this node (its logs, its lease of the node at \(block.node)), then trace again; by hand: ip route add \(missing)."
            ),
            missing
        )
    }

    enum OverlayOwner { case calico, flannel }

    /// A remote node's pod block (calico) or subnet (flannel) holding `address`: the prefix around a
    /// remote VTEP that an overlay device knows (a permanent neighbour with an FDB entry naming a
    /// remote node), of the size other routes over that device have, else the CNI's default
    /// (calico's blockSize 26 and 122, flannel's SubnetLen 24 and 64).
    static func remoteBlock(
        holding address: IPAddress, in state: NamespaceState
    )
        -> (prefix: IPPrefix, vtep: IPAddress, device: Link, node: IPAddress, sizeFrom: String, owner: OverlayOwner)?
    {
        for device in state.links where device.kind == "vxlan" {
            let owner: OverlayOwner
            if device.name.hasPrefix("vxlan.calico") || device.name.hasPrefix("vxlan-v6.calico") {
                owner = .calico
            } else if device.name.hasPrefix("flannel") {
                owner = .flannel
            } else {
                continue
            }
            let routed = state.routes(through: device.index).filter {
                $0.table == .main && $0.type == .unicast && $0.destination?.isIPv4 == address.isIPv4
                    && $0.destinationLength > 0 && Int($0.destinationLength) < (address.isIPv4 ? 32 : 128)
            }
            let defaultLength = owner == .calico ? (address.isIPv4 ? 26 : 122) : (address.isIPv4 ? 24 : 64)
            let length = routed.first.map { Int($0.destinationLength) } ?? defaultLength
            let sizeFrom =
                routed.isEmpty
                ? (owner == .calico ? "blockSize \(defaultLength), calico's default" : "SubnetLen \(defaultLength), flannel's default")
                : "/\(length), as its other routes over \(device.name)"
            for neighbor in state.neighbors(on: device.index) where neighbor.state.contains(.permanent) {
                guard let vtep = neighbor.destination, let mac = neighbor.linkAddress,
                    let remote = state.forwardingDatabase.first(where: { $0.linkAddress == mac && $0.interfaceIndex == device.index })?
                        .destination
                else { continue }
                let block = IPPrefix.around(vtep, length: length)
                if block.contains(address) { return (block, vtep, device, remote, sizeFrom, owner) }
            }
        }
        return nil
    }

    /// The probe got as far as `hop` and no further, and no rule or state explains it.
    public static func stopped(at hop: String, hops: [ObservedHop], probe: String) -> Finding {
        Finding(
            .noRoute, .error, "The request got as far as \(hop) and no further, with no rule or state to blame found.",
            hop: hop, evidence: hops.map { "\($0.name): request \(($0.requestSeen ?? false) ? "seen" : "not seen")" } + [probe],
            remedy:
                "Inspect the next hop's namespace (netdoctor inspect) and its firewall; trace --drop-reasons asks the kernel why it dropped the probe."
        )
    }

    /// The probe was not seen leaving the source, and no rule or state explains it.
    public static func neverLeft(_ source: String, firstHop: String?, seen: String, probe: String) -> Finding {
        Finding(
            .noRoute, .error, "The request never left \(source) (seen \(seen)).", hop: firstHop, evidence: [probe],
            remedy: "Inspect \(source)'s routes and neighbours (netdoctor inspect \(source)).")
    }

    /// inspect: a pod with no default route reaches only its own subnet.
    public static func check(pod: String, routes: [Route]) -> [Finding] {
        let main = routes.filter { $0.table == .main }
        guard !main.contains(where: { $0.destinationLength == 0 }) else { return [] }
        return [
            Finding(
                .noRoute, .warning, "\(pod) has no default route: it reaches only its own subnet.",
                hop: pod, evidence: ["main table: \(main.map(\.destinationText).joined(separator: ", "))"],
                remedy: "Check the CNI's IPAM routes (a gateway or 0.0.0.0/0).")
        ]
    }
}

import Diagnosis
import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import Pods

/// The path as the kernel's state says a packet takes it, hop by hop, and what the static checks
/// at each hop found, before anything is sent.
struct PathWalk {
    var source: NamespaceSnapshot
    var sourceNamespace: KnownNamespace
    /// Every namespace read: where the firewall counters are read around the probe.
    var snapshots: [NamespaceSnapshot]
    var hops: [TraceHop]
    var findings: [Finding]
    /// False when the source has no route at all: nothing is worth sending.
    var sourceHasRoute = true
    var node: NamespaceSnapshot? = nil
    /// The remote node's address (VTEP or gateway) a cross-node packet leaves for.
    var remoteVTEP: IPAddress? = nil
    /// The underlay gateway, whose neighbour entry only a sent packet creates.
    var nextHop: (address: IPAddress, link: Link)? = nil
    var hasLocalDestination = false

    static func walk(_ ends: TraceEnds, directory: NamespaceDirectory) throws -> PathWalk {
        var findings: [Finding] = []
        let sourceKnown = try PodDirectory.namespace(of: ends.source, directory: directory)
        let source = try NamespaceSnapshot.read(sourceKnown, label: ends.source.name, directory: directory)
        var hops: [TraceHop] = []
        var snapshots: [NamespaceSnapshot] = [source]

        // The source pod: its route and interface.
        guard let route = source.lookup(ends.destinationAddress) else {
            findings.append(Finding(.noRoute, .error, "\(ends.source.name) has no route to \(ends.destinationAddress).",
                                    hop: "\(ends.source.name)", evidence: ["route lookup for \(ends.destinationAddress) in \(sourceKnown.name): none"],
                                    remedy: "Check the pod's routes (the CNI's IPAM routes give it a default via the gateway)."))
            return PathWalk(source: source, sourceNamespace: sourceKnown, snapshots: snapshots, hops: hops, findings: findings, sourceHasRoute: false)
        }
        let eth0 = route.outputIndex.flatMap { source.state.link(index: $0) }
        if let eth0 { hops.append(TraceHop(name: "\(ends.source.name):\(eth0.name)", namespace: sourceKnown, interface: eth0.name, role: .source, link: eth0)) }

        // Its veth's host side, and the node from there.
        var node: NamespaceSnapshot? = nil
        var hostVeth: Link? = nil
        if let eth0, eth0.kind == "veth", let peerIndex = eth0.linkIndex, let nsid = eth0.linkNetnsID, nsid >= 0,
           let hostKnown = directory.resolve(nsid: nsid, seenFrom: sourceKnown, socket: source.socket) {
            let snapshot = try NamespaceSnapshot.read(hostKnown, label: hostKnown.name, directory: directory)
            node = snapshot
            snapshots.append(snapshot)
            hostVeth = snapshot.state.link(index: peerIndex)
            if let hostVeth {
                hops.append(TraceHop(name: "\(hostKnown.name):\(hostVeth.name)", namespace: hostKnown, interface: hostVeth.name, role: .hostSide, link: hostVeth))
                if let master = hostVeth.masterIndex, let bridge = snapshot.state.link(index: master) {
                    hops.append(TraceHop(name: "\(hostKnown.name):\(bridge.name)", namespace: hostKnown, interface: bridge.name, role: .bridge, link: bridge))
                }
            }
        }

        var remoteVTEP: IPAddress? = nil
        var nextHop: (address: IPAddress, link: Link)? = nil
        var destinationSnapshot: NamespaceSnapshot? = nil
        if let node, let hostVeth {
            findings += NodeChecks.forwarding(node)
            findings += NodeChecks.bridgePort(hostVeth, node: node)
            if let forward = node.lookup(ends.destinationAddress, source: ends.sourceAddress, input: hostVeth.index) {
                let out = forward.outputIndex.flatMap { node.state.link(index: $0) }
                if let out, out.index != hostVeth.masterIndex || ends.destinationPod == nil {
                    let role: TraceHop.Role = ["vxlan", "geneve", "ipip", "wireguard"].contains(out.kind ?? "") ? .overlay
                        : (ends.destinationPod == nil ? .underlay : .output)
                    if out.index != hostVeth.masterIndex {
                        hops.append(TraceHop(name: "\(node.known.name):\(out.name)", namespace: node.known, interface: out.name, role: role, link: out))
                    }
                    // Replies come back in on the same device: the node must route them to the pod.
                    if ends.destinationPod == nil,
                       node.lookup(ends.sourceAddress, source: ends.destinationAddress, input: out.index) == nil {
                        findings.append(Finding(.noRoute, .error,
                                                "Replies from \(ends.destinationAddress) arriving on \(out.name) have no route to \(ends.source.name) (\(ends.sourceAddress)).",
                                                hop: "\(node.known.name):\(out.name)",
                                                evidence: ["route lookup for \(ends.sourceAddress) from \(ends.destinationAddress) in via \(out.name): none"],
                                                remedy: "Restore the route to this node's pod subnet (the CNI's bridge or per-pod route), and check rp_filter on \(out.name)."))
                    }
                    if role == .overlay {
                        let (overlayFindings, vtep, underlay) = NodeChecks.overlay(out, route: forward, node: node)
                        findings += overlayFindings
                        remoteVTEP = vtep
                        if let underlay {
                            hops.append(TraceHop(name: "\(node.known.name):\(underlay.name)", namespace: node.known, interface: underlay.name, role: .underlay, link: underlay))
                        }
                    } else if role == .underlay, let gateway = forward.gateway {
                        findings += NodeChecks.neighbor(gateway, on: out, in: node)
                        remoteVTEP = gateway
                        nextHop = (gateway, out)
                    }
                }
            } else if node.state.ipForwarding != false {
                // With forwarding off every input lookup fails: IP_FORWARD_DISABLED says it already.
                findings.append(Finding(.noRoute, .error, "The node has no route to \(ends.destinationAddress) for traffic from \(ends.source.name).",
                                        hop: node.known.name, evidence: ["route lookup for \(ends.destinationAddress) from \(ends.sourceAddress) in via \(hostVeth.name): none"],
                                        remedy: "Restore the route the CNI installs for that subnet (restart its agent), then trace again."))
            }
            // A local destination: its host side and eth0, and the way back.
            // A destination pod whose namespace is gone is an error of its own, not a lost packet.
            if let destinationPod = ends.destinationPod {
                let destinationKnown = try PodDirectory.namespace(of: destinationPod, directory: directory)
                let snapshot = try NamespaceSnapshot.read(destinationKnown, label: destinationPod.name, directory: directory)
                destinationSnapshot = snapshot
                snapshots.append(snapshot)
                let back = snapshot.lookup(ends.sourceAddress)
                let destinationEth0 = snapshot.state.links.first { $0.name == destinationPod.primaryInterface }
                if let destinationEth0, let peer = destinationEth0.linkIndex, let hostSide = node.state.link(index: peer) {
                    hops.append(TraceHop(name: "\(node.known.name):\(hostSide.name)", namespace: node.known, interface: hostSide.name,
                                         role: .destinationHostSide, link: hostSide))
                    findings += NodeChecks.bridgePort(hostSide, node: node)
                }
                if let destinationEth0 {
                    hops.append(TraceHop(name: "\(destinationPod.name):\(destinationEth0.name)", namespace: destinationKnown,
                                         interface: destinationEth0.name, role: .destination, link: destinationEth0))
                }
                if back == nil {
                    findings.append(Finding(.noRoute, .error, "\(destinationPod.name) has no route back to \(ends.sourceAddress): replies cannot leave.",
                                            hop: destinationPod.name, evidence: ["route lookup for \(ends.sourceAddress) in \(destinationKnown.name): none"],
                                            remedy: "Restore the pod's default route via its gateway."))
                }
                findings += NodeChecks.duplicateAddress(ends.destinationAddress, expected: destinationEth0, owner: destinationPod.name, source: source, node: node, directory: directory)
            }
        }
        findings += NodeChecks.links(hops)
        if let gateway = route.gateway ?? (route.outputIndex != nil ? ends.destinationAddress : nil), let eth0 {
            findings += NodeChecks.neighbor(gateway, on: eth0, in: source, expectedMAC: NodeChecks.expectedMAC(of: gateway, node: node, hostVeth: hostVeth))
        }
        return PathWalk(source: source, sourceNamespace: sourceKnown, snapshots: snapshots, hops: hops, findings: findings,
                        node: node, remoteVTEP: remoteVTEP, nextHop: nextHop, hasLocalDestination: destinationSnapshot != nil)
    }
}

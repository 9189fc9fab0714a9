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
        let on = facts.nodeName.map { " on \($0)" } ?? ""
        let source = facts.sourceAddress, destination = facts.destinationAddress
        let forwarding = facts.nodeNamespace?.state.ipForwarding != false
        if facts.node?.missingOverlay == true, let underlay = facts.node?.arrival {
            findings.append(Finding(.noRoute, .error, "\(facts.nodeLabel) has no overlay device: encapsulated packets arriving on \(underlay.name) are never unwrapped.",
                                    hop: "\(facts.nodeLabel):\(underlay.name)", evidence: ["no vxlan or geneve link in \(facts.nodeLabel)'s namespace"],
                                    remedy: "Start the overlay agent (flanneld) on \(facts.nodeLabel), or check that both nodes use the same backend."))
        }
        for lookup in facts.lookups {
            guard case .noRoute(let why) = lookup.answer else { continue }
            let evidence = ["route \(lookup.query)\(lookup.inputName.map { " (iif \($0))" } ?? "") in \(lookup.namespace)\(on): \(why)"]
            let via = lookup.inputName ?? "?"
            switch lookup.purpose {
            case .sourceRoute:
                findings.append(Finding(.noRoute, .error, "\(lookup.namespace) has no route to \(destination).", hop: lookup.namespace, evidence: evidence,
                                        remedy: "Check the pod's routes (the CNI's IPAM routes give it a default via the gateway)."))
            case .forward where forwarding:
                // With forwarding off every input lookup fails: IP_FORWARD_DISABLED says it already.
                findings.append(Finding(.noRoute, .error, "\(lookup.namespace) has no route to \(destination) for traffic from \(source) arriving on \(via).",
                                        hop: "\(lookup.namespace):\(via)", evidence: evidence,
                                        remedy: "Restore the route the CNI installs for that subnet (restart its agent), then trace again."))
            case .repliesIn:
                findings.append(Finding(.noRoute, .error, "Replies from \(destination) arriving on \(via) have no route to \(source).",
                                        hop: "\(lookup.namespace):\(via)", evidence: evidence,
                                        remedy: "Restore the route to this node's pod subnet (the CNI's bridge or per-pod route), and check rp_filter on \(via)."))
            case .podReplies:
                let interface = facts.destination?.interface?.name
                findings.append(Finding(.noRoute, .error, "\(lookup.namespace)\(on) has no route back to \(source): replies cannot leave.",
                                        hop: interface.map { "\(lookup.namespace):\($0)" } ?? lookup.namespace, evidence: evidence,
                                        remedy: "Restore the pod's default route via its gateway."))
            case .repliesForwarded where forwarding && facts.answer(.podReplies)?.route != nil:
                findings.append(Finding(.noRoute, .error, "Replies from \(facts.destination?.podName ?? destination.description) arriving on \(via) have no route back to \(source)\(on).",
                                        hop: "\(lookup.namespace):\(via)", evidence: evidence,
                                        remedy: "Restore \(lookup.namespace)'s route to the source's pod subnet (the overlay's or the node route the CNI installs)."))
            default: break
            }
        }
        return findings
    }

    /// The probe got as far as `hop` and no further, and no rule or state explains it.
    public static func stopped(at hop: String, hops: [TraceHop], probe: String) -> Finding {
        Finding(.noRoute, .error, "The request got as far as \(hop) and no further, with no rule or state to blame found.",
                hop: hop, evidence: hops.map { "\($0.name): request \(($0.requestSeen ?? false) ? "seen" : "not seen")" } + [probe],
                remedy: "Inspect the next hop's namespace (netdoctor inspect) and its firewall.")
    }

    /// The probe was not seen leaving the source, and no rule or state explains it.
    public static func neverLeft(_ source: String, firstHop: String?, seen: String, probe: String) -> Finding {
        Finding(.noRoute, .error, "The request never left \(source) (seen \(seen)).", hop: firstHop, evidence: [probe],
                remedy: "Inspect \(source)'s routes and neighbours (netdoctor inspect \(source)).")
    }

    /// inspect: a pod with no default route reaches only its own subnet.
    public static func check(pod: String, routes: [Route]) -> [Finding] {
        let main = routes.filter { $0.table == Route.mainTable }
        guard !main.contains(where: { $0.destinationLength == 0 }) else { return [] }
        return [Finding(.noRoute, .warning, "\(pod) has no default route: it reaches only its own subnet.",
                        hop: pod, evidence: ["main table: \(main.map(\.destinationText).joined(separator: ", "))"],
                        remedy: "Check the CNI's IPAM routes (a gateway or 0.0.0.0/0).")]
    }
}

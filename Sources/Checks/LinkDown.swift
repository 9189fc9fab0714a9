import Diagnosis
import KernelState
import NetlinkCodec
import PathFacts

/// LINK_DOWN: an interface a path crosses is down. A link set down (IFF_UP cleared) takes its
/// veth peer and a bridge it was the only port of with it: those follow from it, and are its
/// evidence rather than errors of their own.
public enum LinkDown: PathCheck {
    public static let codes: [FindingCode] = [.linkDown]

    public static func check(_ facts: PathFacts) -> [Finding] { check(hops: facts.hops, cut: PathCut(facts)) }

    public static func check(hops: [TraceHop], cut: PathCut = PathCut()) -> [Finding] {
        let down = hops.filter(\.isDown)
        let causes = down.filter { $0.link?.isUp == false }
        let consequences = causes.isEmpty ? [] : down.filter { $0.link?.isUp == true }
        return (causes.isEmpty ? down : causes).map { hop in
            let link = hop.link!
            let place = hop.node.map { "\(hop.namespaceName) on \($0)" } ?? hop.namespaceName
            let followers = consequences.map { "\($0.name): up, operstate \($0.link!.operState.name) (follows)" }
            return Finding(
                .linkDown, cut.severity, "\(hop.interface) in \(place) is down: the path is cut there.",
                hop: hop.name,
                evidence: cut.evidence(
                    ["\(hop.interface): \(link.isUp ? "up" : "IFF_UP not set"), operstate \(link.operState.name)"] + followers),
                remedy:
                    "ip\(hop.namespace?.isNode == true ? "" : " -n \(hop.namespaceName)") link set \(hop.interface) up, and find what set it down."
            )
        }
    }

    /// inspect: a pod's own interfaces (loopback aside) and its host side, by the same rule.
    public static func check(
        pod: String, namespace: KnownNamespace, interfaces: [Link], hostSide: (namespace: KnownNamespace, link: Link)?
    ) -> [Finding] {
        var hops = interfaces.filter { $0.kind != "loopback" && $0.name != "lo" }.map {
            TraceHop(name: "\(pod):\($0.name)", namespace: namespace, interface: $0.name, role: .source, link: $0)
        }
        if let hostSide {
            hops.append(
                TraceHop(
                    name: "\(hostSide.namespace.name):\(hostSide.link.name)", namespace: hostSide.namespace,
                    interface: hostSide.link.name, role: .hostSide, link: hostSide.link))
        }
        return check(hops: hops)
    }

    /// inspect: a pod with veths whose peers are in no namespace netdoctor knows.
    public static func peerNotFound(pod: String, veths: [String]) -> [Finding] {
        guard !veths.isEmpty else { return [] }
        return [Finding(.linkDown, .warning, "The peer of \(pod)'s veth was not found in any known namespace.", hop: pod, evidence: veths)]
    }
}

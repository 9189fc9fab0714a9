import ConfigFormats
import Diagnosis
import NetAddress
import NetSystem
import PathFacts
import PathMTU
import Pods
import Session

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The probes of one interval, each with what explains it when it fails.
extension Watcher {
    typealias Failure = (key: String, explain: () -> Incident?)

    /// The peer's agent: does it answer over TCP (its health check)?
    func probeNode(_ target: (node: String, address: IPAddress, pods: [IPAddress])) -> Failure? {
        let started = Self.now()
        let agent = peer(target.address)
        let answered = (try? agent?.health()) != nil
        metrics.probed(
            kind: "node", target: target.node, family: target.address.family.rawValue, seconds: Self.now() - started, failed: !answered)
        guard !answered else { return nil }
        return (
            "node|\(target.node)",
            { [self] in
                incident(
                    kind: "node", targetNode: target.node, target: agent?.endpoint ?? target.address.description,
                    probe: "GET /healthz of the agent at \(target.address): no answer", report: nil)
            }
        )
    }

    /// A pod of the peer, in each family both pods have: an ICMP echo as large as the source
    /// pod's interface allows, with DF set (small probes cross MTU black holes unharmed).
    func probePods(_ target: (node: String, address: IPAddress, pods: [IPAddress]), from source: Pod, session: NodeSession) -> [Failure] {
        guard let namespace = try? session.node.namespace(of: source), let handle = try? session.node.handle(namespace),
            let state = try? handle.state()
        else { return [] }
        let mtu = state.link(named: source.primaryInterface ?? "eth0").flatMap(\.mtu).map(Int.init) ?? 1500
        return target.pods.filter { source.primaryAddress($0.family) != nil }.compactMap { address in
            let family = address.family.rawValue
            let started = Self.now()
            let outcome = (try? handle.run { try ProbeSocket(destination: address, port: 33434, method: .icmp) })?
                .probe(size: mtu, timeoutMilliseconds: settings.timeoutMilliseconds)
            var failed = true
            switch outcome {
            case .passed?: failed = false; metrics.pathMTU(target: target.node, family: family, bytes: mtu)
            case .fragmentationNeeded(_, let pathMTU)?: metrics.pathMTU(target: target.node, family: family, bytes: pathMTU)
            default: break
            }
            metrics.probed(kind: "pod", target: target.node, family: family, seconds: Self.now() - started, failed: failed)
            guard failed else { return nil }
            let what =
                "\(address.isIPv4 ? "ICMP" : "ICMPv6") echo of \(mtu) bytes with DF from \(source.fullName) to \(address): \(outcome?.label ?? "could not be sent")"
            return (
                "pod|\(target.node)|\(address)",
                { [self] in
                    let report = Result {
                        try session.trace(
                            from: source.fullName, to: address.description, timeoutMilliseconds: settings.timeoutMilliseconds,
                            proto: nil, port: nil)
                    }
                    return incident(kind: "pod", targetNode: target.node, target: address.description, probe: what, report: report)
                }
            )
        }
    }

    /// The configured DNS name (looked up as the pod's resolver would) and Service (traced
    /// through its DNAT): judged by their own commands' verdicts.
    func probeExtras(from source: Pod, session: NodeSession) -> [Failure] {
        var failures: [Failure] = []
        if let name = settings.dnsName {
            let started = Self.now()
            let report = Result {
                try session.dns(pod: source.fullName, name: name, timeoutMilliseconds: settings.timeoutMilliseconds, slowMilliseconds: 500)
                    as any Report
            }
            let failed = (try? report.get().exitStatus) != 0
            metrics.probed(kind: "dns", target: node, family: 4, seconds: Self.now() - started, failed: failed)
            if failed {
                failures.append(
                    (
                        "dns|\(name)",
                        { [self] in
                            incident(
                                kind: "dns", targetNode: node, target: name, probe: "lookup of \(name) from \(source.fullName)",
                                report: report)
                        }
                    ))
            }
        }
        if let service = settings.service {
            let started = Self.now()
            let report = Result {
                try session.trace(
                    from: source.fullName, to: service, timeoutMilliseconds: settings.timeoutMilliseconds,
                    proto: nil, port: nil)
            }
            let failed = (try? report.get().exitStatus) != 0
            metrics.probed(kind: "service", target: node, family: 4, seconds: Self.now() - started, failed: failed)
            if failed {
                failures.append(
                    (
                        "service|\(service)",
                        { [self] in
                            incident(
                                kind: "service", targetNode: node, target: service,
                                probe: "connection to \(service) from \(source.fullName)", report: report)
                        }
                    ))
            }
        }
        return failures
    }

    /// An incident from the report that explains a failure (nil report: only the probe is known).
    func incident(kind: String, targetNode: String, target: String, probe: String, report: Result<any Report, any Error>?) -> Incident {
        var codes: [String] = [], verdict = "not explained: no trace was run", json: ConfigValue = .null, reachable = false
        switch report {
        case .success(let report)?:
            codes = report.sortedFindings.filter { $0.severity != .info }.map(\.code.rawValue)
            json = report.json
            reachable = report.exitStatus == 0
            verdict =
                report.sortedFindings.first.map { "\($0.code.rawValue): \($0.message)" }
                ?? (reachable ? "healthy when traced" : "not reachable")
        case .failure(let error)?:
            verdict = "the trace could not run: \(error)"
        case nil:
            break
        }
        return Incident(
            id: 0, time: Self.now(), sourceNode: node, targetNode: targetNode, kind: kind, target: target, probe: probe,
            reachable: reachable, verdict: verdict, codes: codes, report: json)
    }
}

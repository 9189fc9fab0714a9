import Diagnosis
import DNS
import NetAddress
import NodeCheck
import PathMTU
import Trace

/// How `check --probe` probes: the MTU sweep's prober and what counts as a slow DNS answer.
public struct CheckProbing {
    public var prober: MTUProber
    public var slowDNSMilliseconds: Double

    public init(prober: MTUProber = MTUProber(), slowDNSMilliseconds: Double = 500) {
        self.prober = prober
        self.slowDNSMilliseconds = slowDNSMilliseconds
    }
}

extension NodeSession {
    /// check --probe: from the first pod of the node (by name), the MTU sweep (to every remote
    /// pod subnet and another local pod, as `mtu-probe POD` does) and one lookup of
    /// kubernetes.default as its resolver makes it (as `dns POD` does); then each peer node's
    /// agent's health. Each probe's own judgement is kept; one that cannot be sent is said.
    func gatherProbes(into facts: inout NodeCheckFacts, probing: CheckProbing) {
        var probes = CheckProbes()
        let source = pods.pods.sorted { $0.fullName < $1.fullName }.first { (try? node.namespace(of: $0)) != nil }
        if let pod = source {
            probes.pod = pod.fullName
            do {
                let swept = try mtuProbe(source: pod.fullName, destination: nil, prober: probing.prober, verbose: false)
                probes.sent += swept.base.paths.map {
                    CheckProbes.Sent(probe: "path MTU to", target: $0.destination, outcome: Self.outcome($0))
                }
                probes.findings += swept.findings
            } catch {
                probes.notSent.append("the MTU sweep from \(pod.fullName): \(error)")
            }
            do {
                let lookup = try dns(pod: pod.fullName, name: nil, timeoutMilliseconds: nil, slowMilliseconds: probing.slowDNSMilliseconds)
                probes.sent.append(
                    CheckProbes.Sent(
                        probe: "DNS lookup of", target: lookup.facts.name.description, outcome: Self.outcome(lookup.resolution)))
                probes.findings += lookup.findings
            } catch {
                probes.notSent.append("a DNS lookup from \(pod.fullName): \(error)")
            }
        } else {
            probes.notSent.append("the MTU sweep and a DNS lookup: no pod of this node has a network namespace to probe from")
        }
        askAgentsHealth(into: &probes, peers: facts.node.map(PeerNodes.addresses(of:)) ?? [])
        facts.probes = probes
    }

    /// GET /healthz of each peer node's agent; an agent that does not answer is AGENT_UNREACHABLE.
    func askAgentsHealth(into probes: inout CheckProbes, peers: [IPAddress]) {
        guard !peers.isEmpty else {
            probes.notSent.append("the agents' health: the node's routes name no other node")
            return
        }
        guard let agents else {
            probes.notSent.append("the agents' health: this session was given no way to reach them")
            return
        }
        for peer in peers {
            switch agents(peer) {
            case .failure(let why):
                probes.notSent.append("the agent of the node at \(peer): \(why)")
            case .success(let agent):
                do {
                    try agent.health()
                    probes.sent.append(CheckProbes.Sent(probe: "agent health", target: agent.endpoint, outcome: "healthy"))
                } catch {
                    probes.sent.append(CheckProbes.Sent(probe: "agent health", target: agent.endpoint, outcome: "no answer: \(error)"))
                    probes.findings.append(
                        AgentUnreachable.finding(
                            "The agent of the node at \(peer) did not answer its health check: traces and mtu-probe cannot see that node's half of a path.",
                            severity: .warning, evidence: ["GET \(agent.endpoint)/healthz: \(error)"]))
                }
            }
        }
    }

    static func outcome(_ path: ProbedPath) -> String {
        let local = path.measurement.localMTU.map { " (this end allows \($0))" } ?? ""
        switch path.measurement.verdict {
        case .clean: return "\(path.measurement.pathMTU.map(String.init) ?? "?") bytes cross\(local)"
        case .icmp(let from, let mtu): return "\(mtu) bytes: a hop\(from.map { " (\($0))" } ?? "") said fragmentation needed\(local)"
        case .blackhole:
            return
                "\(path.measurement.pathMTU.map(String.init) ?? "no size") crosses, \(path.measurement.firstSilentSize.map(String.init) ?? "larger sizes") vanish without an ICMP error\(local)"
        case .noAnswer(let why): return "no answer: \(why)"
        }
    }

    static func outcome(_ resolution: DNSResolution) -> String {
        switch resolution.status {
        case .resolved:
            return "\(resolution.name?.description ?? "?") is \(resolution.addresses.map(\.description).joined(separator: ", "))"
                + (resolution.server.map { " (from \($0))" } ?? "")
        case .notFound: return "not found (NXDOMAIN or no record for any candidate)"
        case .failed: return "no usable answer for \(resolution.name?.description ?? "the name")"
        }
    }
}

import Diagnosis
import KernelState
import NetAddress
import PathFacts
import PathMTU
import Pods
import Trace

extension NodeSession {
    /// Where a probe starts: `node`, or a pod of this node.
    public func probeSource(_ name: String) throws -> ProbeSource {
        if name == KnownNamespace.nodeName { return ProbeSource(name: name, namespace: directory.node, pod: nil) }
        let pod = try pods.find(name)
        return ProbeSource(name: pod.fullName, namespace: try node.namespace(of: pod), pod: pod)
    }

    /// mtu-probe: SOURCE to DESTINATION, or without them the sweep (every pod of this node to
    /// every remote pod subnet and to another local pod). A destination on another node asks its
    /// agent for the remote half's MTUs.
    public func mtuProbe(source: String?, destination: String?, prober: MTUProber, verbose: Bool) throws -> PodSourcedReport<MTUProbeReport> {
        let sources: [ProbeSource]
        if let source {
            sources = [try probeSource(source)]
        } else {
            sources = pods.pods.compactMap { pod in (try? node.namespace(of: pod)).map { ProbeSource(name: pod.fullName, namespace: $0, pod: pod) } }
        }
        var paths: [ProbedPath] = []
        var findings: [Finding] = []
        for probeSource in sources {
            for target in try targets(for: probeSource, destination: destination) {
                var (path, facts) = try prober.probe(from: probeSource, node: node, to: target.address, named: target.name)
                findings += MTUChecks.findings(for: path, remedy: { [self] in mtuRemedy })
                if source != nil, let pod = probeSource.pod, pods.pod(holding: target.address) == nil {
                    let (interfaces, remote) = RemotePathMTU.check(path, facts: facts, from: pod, locate: agents, remedy: { [self] in mtuRemedy })
                    path.interfaces += interfaces
                    findings += remote
                }
                paths.append(path)
            }
        }
        guard !paths.isEmpty else { throw SessionError("mtu-probe: nothing to probe (no pods on this node; name a source and a destination)") }
        let named = source == nil ? [] : [source, destination].compactMap { $0 }.compactMap { try? pods.find($0) }
        return PodSourcedReport(MTUProbeReport(paths: paths, findings: findings, verbose: verbose), pods: named, directory: pods)
    }

    /// DESTINATION as given, or the sweep's targets for this source.
    func targets(for source: ProbeSource, destination: String?) throws -> [Sweep.Target] {
        if let destination {
            let (name, address, _) = try self.destination(destination)
            try Self.requireOneHost(address)
            return [Sweep.Target(name: name, address: address)]
        }
        var targets = Sweep.remoteTargets(node: try node.handle(directory.node).state())
        if let other = pods.pods.first(where: { $0.containerID != source.pod?.containerID }), let address = other.primaryAddress() {
            targets.append(Sweep.Target(name: "\(other.fullName) (\(address))", address: address))
        }
        return targets
    }

    /// A probe is sent to one host: broadcast, multicast and 0.0.0.0 are the caller's error.
    static func requireOneHost(_ address: IPAddress) throws {
        let first = address.bytes.first ?? 0
        guard !address.isUnspecified, address.description != "255.255.255.255", !(address.isIPv4 ? (224...239).contains(first) : first == 0xFF) else {
            throw SessionError("destination \(address) is not one host (broadcast, multicast or unspecified)")
        }
    }
}

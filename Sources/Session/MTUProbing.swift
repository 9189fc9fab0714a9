import Checks
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
    public func mtuProbe(
        source: String?, destination: String?, prober: MTUProber, verbose: Bool,
        family: IPFamily? = nil
    ) throws -> PodSourcedReport<MTUProbeReport> {
        var sources: [ProbeSource] = []
        var findings: [Finding] = []
        if let source {
            sources = [try probeSource(source)]
        } else {
            // A pod whose namespace cannot be found is said, not silently left out of the sweep.
            var unreachable: [String] = []
            for pod in pods.pods {
                do { sources.append(ProbeSource(name: pod.fullName, namespace: try node.namespace(of: pod), pod: pod)) } catch {
                    unreachable.append("\(pod.fullName): its network namespace was not found (\(error)): not probed")
                }
            }
            if !unreachable.isEmpty { findings.append(CollectionFailed.finding(unreachable, place: KnownNamespace.nodeName)) }
        }
        var paths: [ProbedPath] = []
        for probeSource in sources {
            for target in try targets(for: probeSource, destination: destination, family: family) {
                var (path, facts) = try prober.probe(from: probeSource, node: node, to: target.address, named: target.name)
                findings += MTUChecks.findings(for: path, remedy: { [self] in mtuRemedy })
                if source != nil, let pod = probeSource.pod, pods.pod(holding: target.address) == nil {
                    let (interfaces, remote) = RemotePathMTU.check(
                        path, facts: facts, from: pod, locate: agents, remedy: { [self] in mtuRemedy })
                    path.interfaces += interfaces
                    findings += remote
                }
                paths.append(path)
            }
        }
        guard !paths.isEmpty else {
            throw SessionError("mtu-probe: nothing to probe (no pods on this node; name a source and a destination)")
        }
        let named = source == nil ? [] : [source, destination].compactMap { $0 }.compactMap { try? pods.find($0) }
        return PodSourcedReport(MTUProbeReport(paths: paths, findings: findings, verbose: verbose), pods: named, directory: pods)
    }

    /// DESTINATION as given (in each family both ends have, or `family`), or the sweep's targets
    /// for this source: path MTU is discovered per family (IPv6 has no fragmenting routers).
    func targets(for source: ProbeSource, destination: String?, family: IPFamily?) throws -> [Sweep.Target] {
        let wanted = { (address: IPAddress) in family == nil || address.family == family }
        if let destination {
            let found: [(name: String, address: IPAddress, pod: Pod?)]
            if let pod = source.pod {
                found = try destinations(destination, from: pod, family: family)
            } else if let address = IPAddress.parse(destination) {
                found = [(destination, address, nil)]
            } else {
                let pod = try pods.find(destination)
                found = pod.families.compactMap { pod.primaryAddress($0) }.filter(wanted).map { ("\(pod.fullName) (\($0))", $0, pod) }
            }
            for target in found { try Self.requireOneHost(target.address) }
            return found.map { Sweep.Target(name: $0.name, address: $0.address) }
        }
        let sourceFamilies = source.pod?.families ?? IPFamily.allCases
        var targets = Sweep.remoteTargets(node: try node.handle(directory.node).state())
            .filter { wanted($0.address) && sourceFamilies.contains($0.address.family) }
        if let other = pods.pods.first(where: { $0.containerID != source.pod?.containerID }) {
            for address in other.families.filter(sourceFamilies.contains).compactMap({ other.primaryAddress($0) }) where wanted(address) {
                targets.append(Sweep.Target(name: "\(other.fullName) (\(address))", address: address))
            }
        }
        return targets
    }

    /// A probe is sent to one host: broadcast, multicast and 0.0.0.0 are the caller's error.
    static func requireOneHost(_ address: IPAddress) throws {
        let first = address.bytes.first ?? 0
        guard !address.isUnspecified, address.description != "255.255.255.255",
            !(address.isIPv4 ? (224...239).contains(first) : first == 0xFF)
        else {
            throw SessionError("destination \(address) is not one host (broadcast, multicast or unspecified)")
        }
    }
}

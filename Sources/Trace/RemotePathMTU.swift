import Diagnosis
import KernelState
import NetAddress
import PathFacts
import PathMTU
import Pods

/// mtu-probe's use of the remote node's agent: the interfaces of the remote half with their
/// MTUs, so that a destination pod whose MTU exceeds the measured path is named there.
public enum RemotePathMTU {
    /// The remote half's interfaces, and MTU_MISMATCH for the destination pod if it allows more
    /// than `path` carries; AGENT_UNREACHABLE when the agent cannot be asked. Nothing for a
    /// destination on this node.
    public static func check(
        _ path: ProbedPath, facts: PathFacts, from pod: Pod, locate: AgentLocator?,
        remedy: () -> String
    ) -> (interfaces: [PathInterface], findings: [Finding]) {
        guard let locate, let sourceAddress = pod.primaryAddress(path.destinationAddress.family) else { return ([], []) }
        let ends = TraceEnds(
            source: pod, sourceAddress: sourceAddress, destinationName: path.destination,
            destinationAddress: path.destinationAddress, destinationPod: nil)
        guard let request = RemoteHalfCall.request(facts: facts, ends: ends, windowMilliseconds: 0, proto: .icmp, port: nil) else {
            return ([], [])
        }
        let nodeAddress = request.nodeAddress
        let agent: any RemoteNodeAgent
        switch locate(nodeAddress) {
        case .success(let found): agent = found
        case .failure(let why):
            return (
                [],
                [RemoteHalfCall.unreachable("No agent was asked about the node at \(nodeAddress): \(why).", severity: .info, evidence: [])]
            )
        }
        do {
            let view = try agent.path(request)
            let interfaces = view.pathInterfaces
            return (interfaces, MTUChecks.remoteFindings(for: path, remote: interfaces, node: view.node, remedy: remedy) + view.findings)
        } catch {
            return (
                [],
                [
                    RemoteHalfCall.unreachable(
                        "The agent of the node at \(nodeAddress) could not be asked: the remote interfaces are not checked.",
                        severity: .warning, evidence: ["\(agent.endpoint): \(error)"])
                ]
            )
        }
    }
}

extension RemoteHalfView {
    /// The remote hops as mtu-probe lists interfaces: namespace, name, MTU.
    public var pathInterfaces: [PathInterface] {
        hops.compactMap { hop in
            guard let mtu = hop.mtu else { return nil }
            let namespace = hop.role == .destination ? String(hop.name.split(separator: ":").first ?? "") : node
            return PathInterface(
                namespace: namespace, name: hop.interface, kind: hop.role.rawValue, mtu: Int(mtu),
                role: hop.role == .destination ? .destination : .remote)
        }
    }
}

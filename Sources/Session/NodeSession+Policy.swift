import Cilium
import Firewall
import NetSystem
import Pods
import Policy

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension NodeSession {
    /// policy POD: the NetworkPolicies that select the pod here, as the node's policy engine
    /// programmed them, with their counters. The pod's host veth names Calico's chains: from
    /// libcni's cache, else its eth0's peer as the kernel links them.
    public func policy(pod query: String) throws -> PolicyReport {
        let pod = try pods.find(query)
        var hostInterface = pod.primary?.hostSideInterface
        if hostInterface == nil {
            let podState = try kernel.open(try kernel.namespace(of: pod)).state()
            let nodeState = try kernel.open(kernel.node).state()
            hostInterface = podState.link(named: pod.primaryInterface)?.linkIndex.flatMap { nodeState.link(index: $0)?.name }
        }
        let rules = FirewallReader.readEverything(in: node.nodeSockets)
        // Without root the tools cannot read the rules at all: the environment's fault, not the node's.
        if rules == nil, geteuid() != 0 { throw SystemError("reading the node's firewall (iptables-save, nft)", errno: EPERM) }
        var report = PolicyReport(
            pod: pod.fullName, address: (pod.primaryAddress(.ipv4) ?? pod.primaryAddress(.ipv6))?.description, hostInterface: hostInterface,
            rules: rules,
            queued: QueuedPolicy.read(in: node.nodeSockets, iptables: rules ?? []))
        if let cilium = CiliumDatapath.find(root: root) { report.cilium = Self.ciliumPolicy(cilium, pod: pod) }
        return report
    }

    /// On a Cilium node: the pod's endpoint (cilium_lxc) and its policy map's entries.
    static func ciliumPolicy(_ cilium: CiliumDatapath, pod: Pod) -> PolicyReport.CiliumPolicyView {
        let endpoint: CiliumEndpoint?
        switch cilium.endpoints() {
        case .success(let endpoints): endpoint = endpoints.first { pod.addresses.contains($0.address) && !$0.isHost }
        case .failure(let error): return .init(endpoint: nil, map: nil, entries: [], problem: "cilium_lxc could not be read: \(error)")
        }
        guard let endpoint else {
            return .init(endpoint: nil, map: nil, entries: [], problem: "cilium_lxc has no endpoint for this pod's addresses")
        }
        switch cilium.policy(endpoint: endpoint.endpointID) {
        case .success(let (map, entries)): return .init(endpoint: endpoint, map: map, entries: entries, problem: nil)
        case .failure(let error): return .init(endpoint: endpoint, map: nil, entries: [], problem: "\(error)")
        }
    }
}

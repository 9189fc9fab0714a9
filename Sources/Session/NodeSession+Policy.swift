import Firewall
import NetSystem
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
        return PolicyReport(
            pod: pod.fullName, address: (pod.primaryAddress(.ipv4) ?? pod.primaryAddress(.ipv6))?.description, hostInterface: hostInterface,
            rules: rules,
            queued: QueuedPolicy.read(in: node.nodeSockets, iptables: rules ?? []))
    }
}

import Firewall
import Policy

extension NodeSession {
    /// policy POD: the NetworkPolicies that select the pod here, as the node's policy engine
    /// programmed them, with their counters. The pod's host veth names Calico's chains: from
    /// libcni's cache, else its eth0's peer as the kernel links them.
    public func policy(pod query: String) throws -> PolicyReport {
        let pod = try pods.find(query)
        var hostInterface = pod.primary?.hostSideInterface
        if hostInterface == nil {
            let podState = try node.handle(try node.namespace(of: pod)).state()
            let nodeState = try node.handle(directory.node).state()
            hostInterface = podState.links.first { $0.name == pod.primaryInterface }?.linkIndex.flatMap { nodeState.link(index: $0)?.name }
        }
        return PolicyReport(pod: pod.fullName, address: pod.primaryAddress()?.description, hostInterface: hostInterface,
                            rules: FirewallReader.readEverything(in: nil))
    }
}

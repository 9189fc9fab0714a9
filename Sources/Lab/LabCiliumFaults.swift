import NetAddress

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The cilium topology's faults, made as a node's Cilium datapath gets into each state: maps
/// written by hand where cilium-agent would have written them otherwise, a program detached.
/// Each changes both families' entries at once (the maps hold both); the probes they break are
/// pod-a → pod-b (same node) and pod-a → pod-c (across nodes) unless the summary says otherwise.
extension LabFault {
    var ciliumSummary: String {
        switch self {
        case .ciliumPolicyDenied:
            "pod-b's (node1) and pod-c's (node2) endpoints get a policy allowing only TCP 8080 in (their policy maps' allow-all entry replaced): pod-a's ICMP and TCP 80 are dropped by default, Cilium's 133 Policy denied"
        case .ciliumPolicyDeniedExplicit:
            "pod-b's and pod-c's policy maps get a deny entry for pod-a's identity (all protocols): Cilium's 181 Policy denied by denylist"
        case .ciliumEndpointNoProgram:
            "node1: pod-a's lxc veth loses cil_from_container (its tc filter, or tcx link with --cilium-release 1.18): what pod-a sends is routed by the kernel, not tunnelled by Cilium (probe pod-a → pod-c)"
        case .ciliumPolicyProgramMissing:
            "pod-b's (node1) and pod-c's (node2) slots in cilium_call_policy emptied: what is delivered to them misses its policy program, Cilium's 140 Missed tail call"
        case .ciliumServiceNoBackends:
            "both nodes: default/web's frontends left with no backends in Cilium's load balancer, as when its endpoints go (probe pod-a → 10.96.0.80 port 80): Cilium's 158 Service backend not found"
        case .ciliumIdentityStale:
            "node1: the ipcache gives pod-a's addresses an old identity (10099) while its endpoint has 10000, and pod-b allows only pod-a's identity in: pod-a → pod-b is dropped, 133 (same node: across nodes the tunnel carries the sender's endpoint identity)"
        case .ciliumTunnelEndpointMissing:
            "node1: the ipcache's entries for pod-c's addresses lose their tunnel endpoint: pod-a → pod-c is dropped, Cilium's 160 No tunnel/encapsulation endpoint"
        default: ""
        }
    }
}

extension Lab {
    /// The stale identity CILIUM_IDENTITY_STALE writes.
    static let staleIdentity: UInt32 = 10_099

    func injectCilium(_ fault: LabFault, state: LabState) throws(LabError) {
        let node1 = plan.nodes[0], node2 = plan.nodes[1]
        guard let podA = plan.pod("pod-a"), let podB = plan.pod("pod-b"), let podC = plan.pod("pod-c") else { return }
        let targets = [(node1, podB), (node2, podC)]
        switch fault {
        case .ciliumPolicyDenied:
            for (node, pod) in targets {
                let datapath = ciliumDatapath(node)
                let map = try PinnedMap(datapath.globals + "/" + datapath.policyMapName(ciliumEndpointID(pod)))
                try map.delete(LabCiliumDatapath.policyKey(identity: 0, egress: false, prefix: 40))
                try map.update(
                    LabCiliumDatapath.policyKey(identity: 0, egress: false, prefix: 64, protocolNumber: 6, port: LabServices.targetPort),
                    datapath.policyEntry(deny: false, portBits: 24, wildcard: false))
            }
        case .ciliumPolicyDeniedExplicit:
            for (node, pod) in targets {
                let datapath = ciliumDatapath(node)
                try PinnedMap(datapath.globals + "/" + datapath.policyMapName(ciliumEndpointID(pod))).update(
                    LabCiliumDatapath.policyKey(identity: ciliumIdentity(podA), egress: false, prefix: 40),
                    datapath.policyEntry(deny: true, portBits: 0, wildcard: true))
            }
        case .ciliumEndpointNoProgram:
            let veth = try attachment("pod-a", state: state).hostInterface
            if plan.ciliumRelease >= 18 {
                // The tcx link lives while pinned: unpinned, it is detached.
                unlink(plan.nodeRoot(node1) + "/sys/fs/bpf/cilium/devices/\(veth)/links/cil_from_container")
            } else {
                try Shell.inNamespace(node1.namespace, ["tc", "filter", "del", "dev", veth, "ingress"])
            }
        case .ciliumPolicyProgramMissing:
            for (node, pod) in targets {
                try PinnedMap(ciliumGlobals(node) + "/cilium_call_policy").delete(Bytes.u32(UInt32(ciliumEndpointID(pod))))
            }
        case .ciliumServiceNoBackends:
            try programCiliumServices(state: state, withoutBackends: ["default/web"])
        case .ciliumIdentityStale:
            let datapath = ciliumDatapath(node1)
            let ipcache = try PinnedMap(datapath.globals + "/" + datapath.ipcacheName)
            for address in try ciliumAddresses(podA, state: state) {
                try ipcache.update(LabCiliumDatapath.ipcacheKey(address), datapath.ipcacheValue(identity: Self.staleIdentity, tunnel: nil))
            }
            let map = try PinnedMap(datapath.globals + "/" + datapath.policyMapName(ciliumEndpointID(podB)))
            try map.delete(LabCiliumDatapath.policyKey(identity: 0, egress: false, prefix: 40))
            try map.update(
                LabCiliumDatapath.policyKey(identity: ciliumIdentity(podA), egress: false, prefix: 40),
                datapath.policyEntry(deny: false, portBits: 0, wildcard: true))
        case .ciliumTunnelEndpointMissing:
            let datapath = ciliumDatapath(node1)
            let ipcache = try PinnedMap(datapath.globals + "/" + datapath.ipcacheName)
            for address in try ciliumAddresses(podC, state: state) {
                try ipcache.update(
                    LabCiliumDatapath.ipcacheKey(address), datapath.ipcacheValue(identity: ciliumIdentity(podC), tunnel: nil))
            }
        default: break
        }
    }

    func ciliumDatapath(_ node: LabPlan.Node) -> LabCiliumDatapath {
        LabCiliumDatapath(release: plan.ciliumRelease, globals: ciliumGlobals(node), node: node, nodes: plan.nodes, family: plan.family)
    }

    func ciliumAddresses(_ pod: LabPlan.Pod, state: LabState) throws(LabError) -> [IPAddress] {
        let attached = try attachment(pod.key, state: state)
        return ([attached.address] + (attached.address6.map { [$0] } ?? [])).compactMap(IPAddress.parse)
    }
}

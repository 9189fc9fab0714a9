import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The calico topology's node side: what calico-node (felix) programs on a node in VXLAN mode,
/// and the files install-cni leaves. Pods are wired by the `calico` CNI plugin (LabCalicoPlugin)
/// that each node's containerd runs.
extension Lab {
    /// vxlan.calico with the block's first address, a route per remote block via the remote VTEP
    /// (on-link), its permanent neighbour and FDB entry (felix's vxlan manager programs all three),
    /// and the node's default route towards an underlay router.
    func wireCalicoNode(_ node: LabPlan.Node, remote: LabPlan.Node) throws(LabError) {
        if plan.family.hasIPv4 {
            try wireCalicoVXLAN(
                node, device: LabPlan.calicoVXLANDevice, vni: LabPlan.calicoVNI, mtu: LabPlan.overlayMTU,
                local: (node.underlayAddress, node.vtepAddress, 32, node.vtepMAC),
                remote: (remote.underlayAddress, remote.vtepAddress, remote.podSubnet, remote.vtepMAC))
            try Shell.run(["ip", "-n", node.namespace, "route", "add", "default", "via", LabPlan.underlayRouter, "dev", "eth0"])
        }
        // Dual-stack: felix's vxlan-v6.calico over the IPv6 underlay, with the IPv6 block's first address.
        if plan.family.hasIPv6 {
            try wireCalicoVXLAN(
                node, device: LabPlan.calicoVXLANDevice6, vni: LabPlan.calicoVNI6, mtu: LabPlan.overlayMTU6,
                local: (node.underlayAddress6, node.vtepAddress6, 128, node.vtepMAC6),
                remote: (remote.underlayAddress6, remote.vtepAddress6, remote.podSubnet6, remote.vtepMAC6))
        }
    }

    func wireCalicoVXLAN(
        _ node: LabPlan.Node, device: String, vni: Int, mtu: Int, local: (underlay: String, vtep: String, length: Int, mac: String),
        remote: (underlay: String, vtep: String, block: String, mac: String)
    ) throws(LabError) {
        let ns = node.namespace
        try Shell.run([
            "ip", "-n", ns, "link", "add", device, "address", local.mac, "mtu", String(mtu), "type", "vxlan",
            "id", String(vni), "local", local.underlay, "dev", "eth0", "dstport", String(LabPlan.calicoVXLANPort), "nolearning",
        ])
        try Shell.run(
            ["ip", "-n", ns, "addr", "add", "\(local.vtep)/\(local.length)", "dev", device] + (local.length == 128 ? ["nodad"] : []))
        try Shell.run(["ip", "-n", ns, "link", "set", device, "up"])
        try Shell.run(["ip", "-n", ns, "route", "add", remote.block, "via", remote.vtep, "dev", device, "onlink"])
        try Shell.run(["ip", "-n", ns, "neigh", "add", remote.vtep, "lladdr", remote.mac, "dev", device, "nud", "permanent"])
        try Shell.run(["bridge", "-n", ns, "fdb", "append", remote.mac, "dev", device, "dst", remote.underlay])
    }

    /// The plugin as containerd finds it (`calico` in the node's bin dir, a script running this
    /// netdoctor), and calico-node's files: its node name and the MTU it chose.
    func writeCalicoFiles(_ node: LabPlan.Node) throws(LabError) {
        let root = plan.nodeRoot(node)
        let plugin = "\(root)/opt/cni/bin/calico"
        try LabFiles.write(plugin, "#!/bin/sh\nexec '\(Executable.path)' lab cni-calico\n")
        guard chmod(plugin, 0o755) == 0 else { throw LabError("cannot make \(plugin) executable") }
        try LabFiles.write("\(root)/var/lib/calico/nodename", node.name)
        try LabFiles.write("\(root)/var/lib/calico/mtu", String(plan.family.hasIPv6 ? LabPlan.overlayMTU6 : LabPlan.overlayMTU))
        try LabFiles.write("\(root)/etc/cni/net.d/calico-kubeconfig", "# the lab has no API server\n")
    }

    /// The pods each node's policy engine sees: their host interfaces and addresses.
    func workloads(on node: LabPlan.Node, state: LabState) throws(LabError) -> [LabWorkload] {
        try plan.pods.filter { $0.node == node.name }.map { pod throws(LabError) in
            let attached = try attachment(pod.name, state: state)
            return LabWorkload(pod: pod.name, interface: attached.hostInterface, address: attached.address)
        }
    }

    /// Programs (or reprograms, with the policies a fault added) the policy engine's chains on
    /// both nodes.
    func programPolicyEngine(_ engine: LabPolicyEngine, state: inout LabState, firstTime: Bool = true) throws(LabError) {
        state.policyEngine = engine.rawValue
        let policies = state.policies.compactMap(LabPolicy.named)
        for node in plan.nodes {
            let workloads = try workloads(on: node, state: state)
            switch engine {
            case .calico:
                try Shell.inNamespace(
                    node.namespace, ["iptables-restore", "--noflush"],
                    input: LabPolicyRules.calicoIptables(workloads, policies: policies))
                if firstTime {
                    for (i, jump) in LabPolicyRules.calicoForwardJumps.enumerated() {
                        try Shell.inNamespace(node.namespace, ["iptables", "-I", "FORWARD", String(i + 1)] + jump)
                    }
                }
            case .calicoNftables:
                try Shell.inNamespace(
                    node.namespace, ["nft", "-f", "-"], input: LabPolicyRules.calicoNftables(workloads, policies: policies))
            case .kubeNetworkPolicies:
                try programQueuedPolicy(workloads, policies: policies, node: node, state: &state)
            case .kubeRouter:
                try Shell.inNamespace(
                    node.namespace, ["iptables-restore", "--noflush"],
                    input: LabPolicyRules.kubeRouterIptables(workloads, policies: policies))
                if firstTime {
                    try Shell.inNamespace(node.namespace, ["iptables", "-I", "FORWARD", "1"] + LabPolicyRules.kubeRouterForwardJump)
                }
            }
        }
    }

    /// A policy fault: the policy added and the engine's chains rewritten, as the engine would on
    /// a NetworkPolicy's creation.
    func addPolicy(_ policy: LabPolicy, state: inout LabState) throws(LabError) {
        guard plan.topology == .calico, let engine = state.policyEngine.flatMap(LabPolicyEngine.init) else {
            throw LabError("policy faults need the calico topology (lab up --topology calico)")
        }
        if engine == .kubeRouter || engine == .kubeNetworkPolicies, !policy.denies.isEmpty {
            throw LabError(
                "\(engine.rawValue) programs Kubernetes NetworkPolicy only, which cannot deny (lab up --topology calico --policy-engine calico)"
            )
        }
        if !state.policies.contains(policy.name) { state.policies.append(policy.name) }
        try programPolicyEngine(engine, state: &state, firstTime: false)
    }
}

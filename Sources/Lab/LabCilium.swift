import NetAddress
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The cilium topology's node side: what cilium-agent sets up on a node in tunnel mode with
/// per-endpoint routes: cilium_host (holding the node's router addresses) and its peer
/// cilium_net, cilium_vxlan (a collect-metadata VXLAN device on Cilium's port 8472), a route to
/// each node's pod range via the router address on cilium_host; then, once the pods run, each
/// endpoint in the datapath's maps (LabCiliumDatapath). The datapath is the lab's stand-in
/// (bpf/lab_cilium.h), with the map layouts of the release `plan.ciliumRelease` names.
extension Lab {
    static let ciliumVXLANPort = 8472
    /// The cluster's pod ranges (cilium's cluster-pool), as the datapath's config holds them.
    static let ciliumClusterRange4 = "10.247.0.0/16"
    static let ciliumClusterRange6 = "fd00:10:247::/48"

    func wireCiliumNode(_ node: LabPlan.Node, remote: LabPlan.Node) throws(LabError) {
        let ns = node.namespace
        try Shell.run(["ip", "-n", ns, "link", "add", "cilium_host", "type", "veth", "peer", "name", "cilium_net"])
        for device in ["cilium_net", "cilium_host"] {
            try Shell.run(["ip", "-n", ns, "link", "set", device, "mtu", String(LabPlan.underlayMTU), "up"])
            try Shell.inNamespace(ns, ["sysctl", "-q", "-w", "net.ipv4.conf.\(device).forwarding=1"])
        }
        try Shell.run([
            "ip", "-n", ns, "link", "add", "cilium_vxlan", "mtu", String(LabPlan.underlayMTU), "type", "vxlan", "external",
            "dstport", String(Self.ciliumVXLANPort),
        ])
        try Shell.run(["ip", "-n", ns, "link", "set", "cilium_vxlan", "up"])
        if plan.family.hasIPv4 {
            try Shell.run(["ip", "-n", ns, "addr", "add", "\(node.podGateway)/32", "dev", "cilium_host"])
            for range in [node.podSubnet, remote.podSubnet] {
                try Shell.run([
                    "ip", "-n", ns, "route", "add", range, "via", node.podGateway, "dev", "cilium_host", "src", node.podGateway,
                    "mtu", String(LabPlan.ciliumMTU),
                ])
            }
        }
        if plan.family.hasIPv6 {
            try Shell.run(["ip", "-n", ns, "addr", "add", "\(node.podGateway6)/128", "dev", "cilium_host", "nodad"])
            for range in [node.podSubnet6, remote.podSubnet6] {
                // IPv6 takes no local address as a gateway: the range is on cilium_host directly.
                try Shell.run([
                    "ip", "-n", ns, "-6", "route", "add", range, "dev", "cilium_host", "src", node.podGateway6, "mtu",
                    String(LabPlan.ciliumMTU),
                ])
            }
        }
    }

    /// cilium-cni in the node's bin dir: a script that runs this binary with the node's ranges.
    func writeCiliumFiles(_ node: LabPlan.Node) throws(LabError) {
        let plugin = "\(plan.nodeRoot(node))/opt/cni/bin/cilium-cni"
        try LabFiles.write(plugin, LabCiliumPlugin.script(executable: Executable.path, node: plan.ciliumPluginNode(node)))
        guard chmod(plugin, 0o755) == 0 else { throw LabError("cannot make \(plugin) executable") }
    }

    /// Where a node's Cilium maps are pinned: its root's bpffs, as Cilium pins them.
    func ciliumGlobals(_ node: LabPlan.Node) -> String { plan.nodeRoot(node) + "/sys/fs/bpf/tc/globals" }

    /// A pod's security identity and endpoint id: stable, one identity per pod (each has labels
    /// of its own), in Cilium's ranges (identities from 256, endpoint ids below 4096).
    func ciliumIdentity(_ pod: LabPlan.Pod) -> UInt32 { 10_000 + UInt32(plan.pods.firstIndex(of: pod) ?? 0) }
    func ciliumEndpointID(_ pod: LabPlan.Pod) -> UInt16 { 100 + UInt16(plan.pods.firstIndex(of: pod) ?? 0) }

    /// The agent's part once the pods run: on each node, the datapath loaded with its maps pinned,
    /// every endpoint and every address of the cluster in them, the programs attached.
    func programCiliumDatapath(state: LabState) throws(LabError) {
        var endpoints: [LabCiliumDatapath.Endpoint] = []
        for pod in plan.pods {
            guard let node = plan.node(pod.node) else { continue }
            let attached = try attachment(pod.key, state: state)
            var addresses = [attached.address]
            if let v6 = attached.address6, v6 != attached.address { addresses.append(v6) }
            endpoints.append(
                LabCiliumDatapath.Endpoint(
                    pod: pod.key, node: node.name, addresses: addresses.compactMap(IPAddress.parse), hostInterface: attached.hostInterface,
                    podNamespace: attached.netns, identity: ciliumIdentity(pod), endpointID: ciliumEndpointID(pod)))
        }
        for node in plan.nodes {
            let datapath = LabCiliumDatapath(
                release: plan.ciliumRelease, globals: ciliumGlobals(node), node: node, nodes: plan.nodes, family: plan.family)
            try datapath.program(endpoints: endpoints)
        }
    }
}

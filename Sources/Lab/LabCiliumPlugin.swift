/// The cilium topology's CNI plugin (`cilium-cni` in the node's bin dir, a script running
/// `netdoctor-lab lab cni-cilium` with the node's ranges): LabCalicoPlugin's program in Cilium's
/// style. Real cilium-cni asks cilium-agent for an address and an endpoint; here the addresses
/// come from host-local over the node's ranges, and the lab programs the endpoint into the
/// datapath's maps once the pod runs (LabCilium), as the agent would.
public enum LabCiliumPlugin {
    /// What the plugin knows of its node: its pod ranges, its router addresses on cilium_host
    /// (empty: no such family) and the pods' MTU (the tunnel's).
    public struct Node: Sendable, Equatable {
        public var subnet4: String
        public var subnet6: String
        public var router4: String
        public var router6: String
        public var mtu: Int

        public init(subnet4: String, subnet6: String, router4: String, router6: String, mtu: Int) {
            self.subnet4 = subnet4
            self.subnet6 = subnet6
            self.router4 = router4
            self.router6 = router6
            self.mtu = mtu
        }

        /// host-local's config over the node's ranges, the router addresses excluded as
        /// cilium-agent's IPAM reserves them.
        func ipamConfig(version: String) -> String {
            let ranges = [(subnet4, router4), (subnet6, router6)].filter { !$0.0.isEmpty }.map { subnet, router in
                "[{\"subnet\": \"\(subnet)\", \"gateway\": \"\(router)\"}]"
            }
            return """
                {"cniVersion": "\(version)", "name": "cilium", "ipam": {"type": "host-local", "ranges": [\(ranges.joined(separator: ", "))]}}
                """
        }
    }

    /// The node-specific wrapper script containerd runs as `cilium-cni`.
    static func script(executable: String, node: Node) -> String {
        var arguments = ["lab", "cni-cilium", "--mtu", String(node.mtu)]
        if !node.subnet4.isEmpty { arguments += ["--subnet4", node.subnet4, "--router4", node.router4] }
        if !node.subnet6.isEmpty { arguments += ["--subnet6", node.subnet6, "--router6", node.router6] }
        return "#!/bin/sh\nexec '\(executable)' \(arguments.joined(separator: " "))\n"
    }

    /// One address of the pod: a /32 (/128) on its eth0, the router address on-link and the
    /// default route via it; a host route to the pod by its lxc veth (Cilium's per-endpoint
    /// routes). The router address is local to the node (on cilium_host), so IPv4's ARP for it
    /// is answered by the kernel on the lxc veth; IPv6's neighbour solicitation by proxy NDP.
    static func wire(_ address: String, ipv6: Bool, router: String, hostVeth: String, ifname: String, pod: [String]) throws(LabError) {
        if ipv6 {
            try Shell.run(["sysctl", "-q", "-w", "net.ipv6.conf.\(hostVeth).accept_ra=0"])
            try Shell.run(["sysctl", "-q", "-w", "net.ipv6.conf.\(hostVeth).proxy_ndp=1"])
            try Shell.run(["sysctl", "-q", "-w", "net.ipv6.neigh.\(hostVeth).proxy_delay=0"])
            try Shell.run(["ip", "-6", "neigh", "add", "proxy", router, "dev", hostVeth])
            try Shell.run(["ip", "-6", "route", "replace", "\(address)/128", "dev", hostVeth])
            try Shell.run(pod + ["-6", "addr", "add", "\(address)/128", "dev", ifname, "nodad"])
            try Shell.run(pod + ["-6", "route", "add", router, "dev", ifname])
            try Shell.run(pod + ["-6", "route", "add", "default", "via", router, "dev", ifname])
        } else {
            try Shell.run(["sysctl", "-q", "-w", "net.ipv4.conf.\(hostVeth).forwarding=1"])
            try Shell.run(["ip", "route", "replace", "\(address)/32", "dev", hostVeth, "scope", "link"])
            try Shell.run(pod + ["addr", "add", "\(address)/32", "dev", ifname])
            try Shell.run(pod + ["route", "add", router, "dev", ifname, "scope", "link"])
            try Shell.run(pod + ["route", "add", "default", "via", router, "dev", ifname])
        }
    }
}

extension LabPlan {
    /// The conflist cilium-agent writes (its default 05-cilium.conflist): no IPAM section, the
    /// agent does that.
    static let ciliumNetworkConfig = """
        {
          "cniVersion": "0.3.1",
          "name": "cilium",
          "plugins": [
            {
              "type": "cilium-cni",
              "enable-debug": false,
              "log-file": "/var/run/cilium/cilium-cni.log"
            }
          ]
        }

        """

    /// The tunnel's MTU for pods (VXLAN's 50 bytes off the underlay's 1,500).
    public static let ciliumMTU = 1450

    /// What the node's cilium-cni knows of it.
    func ciliumPluginNode(_ node: Node) -> LabCiliumPlugin.Node {
        LabCiliumPlugin.Node(
            subnet4: family.hasIPv4 ? node.podSubnet : "", subnet6: family.hasIPv6 ? node.podSubnet6 : "",
            router4: family.hasIPv4 ? node.podGateway : "", router6: family.hasIPv6 ? node.podGateway6 : "", mtu: Self.ciliumMTU)
    }
}

import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension Lab {
    /// NodeLocal DNSCache's listen address (the docs' default).
    static let nodeLocalAddress = "169.254.20.10"

    /// NodeLocal DNSCache as node-cache sets it up in iptables mode, on each node: a link named
    /// `nodelocaldns` holding 169.254.20.10 and the kube-dns address (node-cache makes a dummy
    /// link; this kernel has none, so a bridge without ports stands in: a link that only holds
    /// addresses), its NOTRACK and ACCEPT rules (cache_app.go's, with its comments), and a DNS
    /// server bound there. node-cache's own server is CoreDNS forwarding to kube-dns over TCP;
    /// here dnsmasq answers the cluster zone itself (a stand-in, said so).
    func startNodeLocalDNS(state: inout LabState) throws(LabError) {
        guard let dnsmasq = Shell.find("dnsmasq"), let ip = Shell.find("ip") else { throw LabError("dnsmasq is not installed") }
        let addresses = [Self.nodeLocalAddress, LabPlan.clusterDNS]
        let hosts = Self.clusterHosts
        for node in plan.nodes {
            try Shell.run(["ip", "-n", node.namespace, "link", "add", "nodelocaldns", "type", "bridge"])
            for address in addresses { try Shell.run(["ip", "-n", node.namespace, "addr", "add", "\(address)/32", "dev", "nodelocaldns"]) }
            // Left down, as node-cache leaves its dummy link: the addresses' local routes exist
            // all the same, and the cache answers on them.
            // The lab routes the service range on-link over the underlay; without this the other
            // node would answer ARP for its own copy of these addresses, which a real network's
            // routing never asks.
            try Shell.run(["ip", "netns", "exec", node.namespace, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1"])
            for address in addresses {
                for proto in ["udp", "tcp"] {
                    let skip = ["-m", "comment", "--comment", "NodeLocal DNS Cache: skip conntrack", "-j", "NOTRACK"]
                    let allow = ["-m", "comment", "--comment", "NodeLocal DNS Cache: allow DNS traffic", "-j", "ACCEPT"]
                    try Shell.inNamespace(
                        node.namespace, ["iptables", "-t", "raw", "-A", "PREROUTING", "-p", proto, "-d", address, "--dport", "53"] + skip)
                    try Shell.inNamespace(
                        node.namespace, ["iptables", "-t", "raw", "-A", "OUTPUT", "-p", proto, "-s", address, "--sport", "53"] + skip)
                    try Shell.inNamespace(node.namespace, ["iptables", "-A", "INPUT", "-p", proto, "-d", address, "--dport", "53"] + allow)
                    try Shell.inNamespace(
                        node.namespace, ["iptables", "-A", "OUTPUT", "-p", proto, "-s", address, "--sport", "53"] + allow)
                }
            }
            let arguments = [
                "netns", "exec", node.namespace, dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--addn-hosts=\(hosts)", "--local=/#/", "--listen-address=\(addresses.joined(separator: ","))",
                "--bind-interfaces", "--port=53", "--user=root", "--group=root", "--pid-file=", "--log-facility=/dev/null",
            ]
            guard let pid = ChildProcess.spawnDetached(ip, arguments: arguments, environment: Shell.environment) else {
                throw LabError("cannot start NodeLocal DNSCache's stand-in on \(node.name)")
            }
            state.servicePIDs.append(pid)
        }
        state.nodeLocalDNS = true
    }
}

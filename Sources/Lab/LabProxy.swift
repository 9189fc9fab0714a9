import NetSystem
import NodeFiles
import Services

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension Lab {
    /// The lab's Services, as kube-proxy would program them on each node: backends listening in
    /// their pods (HTTP and a UDP echo on the target port), then each node's rules written in
    /// `mode` the way kube-proxy writes them and loaded with the real iptables-restore or nft.
    func startServices(mode: LabServices.Mode, state: inout LabState) throws(LabError) {
        let addresses = try podAddresses(state)
        guard let ip = Shell.find("ip") else { throw LabError("ip is not installed") }
        try startServiceBackends(state: &state)
        state.proxy = mode.rawValue
        // kube-proxy's metrics listener, as a stand-in (no kube-proxy runs here): /proxyMode, /metrics.
        for node in plan.nodes {
            // Every family's range, as kube-proxy's --cluster-cidr takes them on a dual-stack cluster.
            let ranges = [clusterCIDR] + (plan.family.hasIPv6 ? [clusterCIDR6] : [])
            let arguments = [
                "netns", "exec", node.namespace, Executable.path, "lab", "serve", "--kube-proxy", mode.rawValue,
                "--stale-flag", Self.proxyStaleFlag(node.name), "--cluster-cidr", ranges.joined(separator: ","),
                "--kube-proxy-release", state.kubeProxyRelease,
            ]
            guard let pid = ChildProcess.spawnDetached(ip, arguments: arguments, environment: Shell.environment) else {
                throw LabError("cannot start kube-proxy's stand-in on \(node.name)")
            }
            state.servicePIDs.append(pid)
        }
        for node in plan.nodes {
            // A real node's default route carries service IPs to its FORWARD chain (where the
            // REJECT for a Service without endpoints sits); the lab's nodes have none, so the
            // service range gets a route of its own.
            try Shell.run(["ip", "-n", node.namespace, "route", "add", LabServices.serviceCIDR, "dev", "eth0"])
            if plan.family == .dual {
                try Shell.run(["ip", "-n", node.namespace, "-6", "route", "add", LabServices.serviceCIDR6, "dev", "eth0"])
            }
            try programServices(on: node, mode: mode, addresses: addresses, extra: state.extraServices)
        }
        for node in plan.nodes {
            for _ in 0..<50 {
                if let out = try? Shell.run(["ip", "netns", "exec", node.namespace, "ss", "-Hltn", "sport", "= :10249"]), !out.isEmpty {
                    break
                }
                usleep(20_000)
            }
        }
        waitForServiceBackends(state: state)
    }

    /// The Services' backends in their pods (HTTP and a UDP echo on the target port) and the
    /// cluster DNS server.
    func startServiceBackends(state: inout LabState) throws(LabError) {
        guard let ip = Shell.find("ip") else { throw LabError("ip is not installed") }
        for pod in LabServices.backendPods {
            guard let netns = state.pods[pod]?.netnsName else { continue }
            for extra in [[], ["--udp"]] {
                let arguments = ["netns", "exec", netns, Executable.path, "lab", "serve", "--port", String(LabServices.targetPort)] + extra
                guard let pid = ChildProcess.spawnDetached(ip, arguments: arguments, environment: Shell.environment) else {
                    throw LabError("cannot start the service backend in \(pod)")
                }
                state.servicePIDs.append(pid)
            }
        }
        try startClusterDNS(state: &state)
    }

    /// Until the TCP backends listen, so that a trace right after `lab up` finds them.
    func waitForServiceBackends(state: LabState) {
        for pod in LabServices.backendPods {
            guard let netns = state.pods[pod]?.netnsName else { continue }
            for _ in 0..<50 {
                if let out = try? Shell.run(["ip", "netns", "exec", netns, "ss", "-Hltn", "sport", "= :\(LabServices.targetPort)"]),
                    !out.isEmpty
                {
                    break
                }
                usleep(20_000)
            }
        }
    }

    /// The cluster DNS server behind kube-system/kube-dns: dnsmasq (Debian's, a real DNS server)
    /// in each DNS pod, answering for the cluster zone over UDP and TCP on port 53; any other name
    /// is NXDOMAIN, as from a cluster DNS whose upstream knows nothing of it.
    func startClusterDNS(state: inout LabState) throws(LabError) {
        try LabFiles.write(Self.clusterHosts, LabServices.clusterRecords(dualStack: plan.family == .dual))
        for pod in LabServices.dnsPods {
            guard let netns = state.pods[pod]?.netnsName else { continue }
            state.servicePIDs.append(try startDNSServer(in: netns))
        }
    }

    static var clusterHosts: String { "\(LabPlan.stateDirectory)/cluster-dns.hosts" }

    /// dnsmasq in `netns` on port 53 of its eth0 (without --interface it answers only its own
    /// subnets). Names outside the cluster zone are NXDOMAIN, or with `refuseOutside` REFUSED
    /// (a server with no upstream at all).
    /// `behindRelay`: on 127.0.0.1:5353 only, for the slow relay in front of it (DNS_SLOW).
    func startDNSServer(in netns: String, refuseOutside: Bool = false, behindRelay: Bool = false) throws(LabError) -> Int32 {
        guard let dnsmasq = Shell.find("dnsmasq"), let ip = Shell.find("ip") else {
            throw LabError("dnsmasq is not installed (scripts/setup installs dnsmasq-base)")
        }
        let zone = refuseOutside ? ["--local=/\(LabPlan.clusterDomain)/"] : ["--local=/#/"]
        let listen =
            behindRelay
            ? ["--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(LabSlowDNS.upstreamPort)"] : ["--interface=eth0", "--port=53"]
        let arguments =
            [
                "netns", "exec", netns, dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--addn-hosts=\(Self.clusterHosts)", "--user=root", "--group=root", "--pid-file=", "--log-facility=/dev/null",
            ] + listen + zone
        guard let pid = ChildProcess.spawnDetached(ip, arguments: arguments, environment: Shell.environment) else {
            throw LabError("cannot start the cluster DNS server in \(netns)")
        }
        return pid
    }

    /// The cluster's IPv6 pod range (a dual-stack cluster's second --cluster-cidr).
    var clusterCIDR6: String {
        switch plan.topology {
        case .overlay: "fd00:10:244::/56"
        case .routed: "fd00:10:245::/56"
        case .calico: "fd00:10:246::/56"
        case .cilium: Lab.ciliumClusterRange6
        }
    }

    /// Each pod's IPv6 address, from the cache its runtime wrote.
    func podAddresses6() throws(LabError) -> [String: String] {
        guard let state = Self.current()?.state else { throw LabError("no lab state") }
        var addresses: [String: String] = [:]
        for pod in plan.pods { if let address = try? attachment(pod.name, state: state).address6 { addresses[pod.name] = address } }
        return addresses
    }

    /// Loads `node`'s kube-proxy rules (a full sync: kube-proxy's own chains or table replaced).
    /// `withoutEndpoints`: Services whose endpoints are gone (lab break SERVICE_NO_ENDPOINTS).
    /// The cluster's pod range, as kube-proxy's clusterCIDR.
    var clusterCIDR: String {
        switch plan.topology {
        case .overlay: "10.244.0.0/16"
        case .routed: "10.245.0.0/16"
        case .calico: "10.246.0.0/16"
        case .cilium: Lab.ciliumClusterRange4
        }
    }

    func programServices(
        on node: LabPlan.Node, mode: LabServices.Mode, addresses: [String: String],
        withoutEndpoints: Set<String> = [], firstSync: Bool = true, extra: Int = 0
    ) throws(LabError) {
        let ports =
            LabServices.proxied(on: node.name, plan: plan, podAddresses: addresses, withoutEndpoints: withoutEndpoints)
            + LabServices.many(extra, endpoints: 3)
        // Through a file, as kube-proxy's restore input can run to megabytes (a pipe's input here is
        // bounded to what its buffer holds).
        let file = "\(LabPlan.stateDirectory)/\(node.name)-kube-proxy.\(mode == .iptables ? "rules" : "nft")"
        switch mode {
        case .iptables:
            try LabFiles.write(file, KubeProxyRules.iptables(ports, clusterCIDR: clusterCIDR, jumps: firstSync))
            try Shell.inNamespace(node.namespace, ["iptables-restore", "--noflush", file], timeoutMilliseconds: 300_000)

        case .nftables:
            Shell.attempt(["ip", "netns", "exec", node.namespace, "nft", "delete", "table", "ip", "kube-proxy"])
            try LabFiles.write(
                file,
                KubeProxyRules.nftables(
                    ports, clusterCIDR: clusterCIDR, serviceCIDR: LabServices.serviceCIDR,
                    nodeIPs: [node.underlayAddress]))
            try Shell.inNamespace(node.namespace, ["nft", "-f", file], timeoutMilliseconds: 300_000)
        }
        // A dual-stack cluster: kube-proxy's IPv6 proxier writes the IPv6 halves (ip6tables, or
        // table ip6 kube-proxy).
        guard plan.family == .dual else { return }
        let ports6 = LabServices.proxied(
            on: node.name, plan: plan, podAddresses: try podAddresses6(), withoutEndpoints: withoutEndpoints,
            ports: LabServices.ports6)
        switch mode {
        case .iptables:
            try LabFiles.write(file + "6", KubeProxyRules.iptables(ports6, clusterCIDR: clusterCIDR6, jumps: firstSync))
            try Shell.inNamespace(node.namespace, ["ip6tables-restore", "--noflush", file + "6"], timeoutMilliseconds: 300_000)
        case .nftables:
            Shell.attempt(["ip", "netns", "exec", node.namespace, "nft", "delete", "table", "ip6", "kube-proxy"])
            try LabFiles.write(
                file + "6",
                KubeProxyRules.nftables(
                    ports6, clusterCIDR: clusterCIDR6, serviceCIDR: LabServices.serviceCIDR6,
                    nodeIPs: [node.underlayAddress6]))
            try Shell.inNamespace(node.namespace, ["nft", "-f", file + "6"], timeoutMilliseconds: 300_000)
        }
    }

    /// A Service fault: what kube-proxy would do (a sync without the endpoints, rules gone), or
    /// what breaks an endpoint while its rules stay right.
    func injectServiceFault(_ fault: LabFault, state: LabState) throws(LabError) {
        guard let mode = state.proxy.flatMap(LabServices.Mode.init(rawValue:)) else { return }
        let node1 = plan.nodes[0]
        switch fault {
        case .serviceNoEndpoints:
            let addresses = try podAddresses(state)
            for node in plan.nodes {
                try programServices(
                    on: node, mode: mode, addresses: addresses, withoutEndpoints: ["default/web"], firstSync: false,
                    extra: state.extraServices)
            }
        case .serviceNotProgrammed:
            switch mode {
            case .iptables:
                // kube-proxy's dispatch chains emptied: the jumps into them stay, as after a flush by hand.
                try Shell.inNamespace(node1.namespace, ["iptables", "-t", "nat", "-F", "KUBE-SERVICES"])
                try Shell.inNamespace(node1.namespace, ["iptables", "-t", "filter", "-F", "KUBE-SERVICES"])
            case .nftables:
                try Shell.inNamespace(node1.namespace, ["nft", "delete", "table", "ip", "kube-proxy"])
            }
        case .endpointUnreachable:
            let podC = try attachment("pod-c", state: state)
            try Shell.inNamespace(
                plan.nodes[1].namespace,
                [
                    "iptables", "-I", "FORWARD", "-d", podC.address, "-p", "tcp", "--dport",
                    String(LabServices.targetPort), "-m", "comment", "--comment",
                    "netdoctor lab: ENDPOINT_UNREACHABLE", "-j", "DROP",
                ])
        case .staleConntrack:
            // What a missed cleanup leaves: a live flow's entry (it saw replies, so it is assured;
            // its last packet just now, so its timeout is the UDP stream timeout) still DNATs to
            // an address no Service endpoint has (a pod deleted since). Made with conntrack-tools,
            // as the kernel would keep it.
            let podB = try attachment("pod-b", state: state)
            let echo = LabServices.ports.first { $0.name.name == "echo" }!
            let gone = clusterCIDR.replacingFirst(".0.0/16", with: ".2.99")
            try Shell.inNamespace(
                node1.namespace,
                [
                    "conntrack", "-I", "-p", "udp", "-s", podB.address, "-d", echo.clusterIP,
                    "--sport", "40053", "--dport", String(echo.port), "--timeout", "120",
                    "--status", "ASSURED,SEEN_REPLY", "--dst-nat", "\(gone):\(LabServices.targetPort)",
                ])
        case .masqueradeMissing:
            switch mode {
            case .iptables:
                try Shell.inNamespace(
                    node1.namespace,
                    [
                        "iptables", "-t", "nat", "-D", "KUBE-POSTROUTING", "-m", "comment", "--comment",
                        "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE",
                    ])
            case .nftables:
                try Shell.inNamespace(node1.namespace, ["nft", "flush", "chain", "ip", "kube-proxy", "masquerading"])
            }
        case .proxyStale:
            try LabFiles.write(Self.proxyStaleFlag(node1.name), "stale\n")
        case .hairpinDisabled:
            let podA = try attachment("pod-a", state: state)
            try Shell.run(["bridge", "-n", node1.namespace, "link", "set", "dev", podA.hostInterface, "hairpin", "off"])
        default:
            break
        }
    }

    /// A DNS fault, as pod-b (on node1) meets it: the DNS Service without endpoints, an egress
    /// rule in pod-b for one transport, the kubelet's or the node's files changed, pod-b's own
    /// resolv.conf edited where containerd keeps it.
    /// Processes a fault starts join `state.servicePIDs`, so that `lab down` stops them too.
    func injectDNSFault(_ fault: LabFault, state: inout LabState) throws(LabError) {
        guard let mode = state.proxy.flatMap(LabServices.Mode.init(rawValue:)) else { return }
        let node1 = plan.nodes[0]
        let root1 = plan.nodeRoot(node1)
        switch fault {
        case .dnsServerUnreachable:
            let addresses = try podAddresses(state)
            for node in plan.nodes {
                try programServices(
                    on: node, mode: mode, addresses: addresses, withoutEndpoints: ["kube-system/kube-dns"], firstSync: false,
                    extra: state.extraServices)
            }
        case .dnsUDPBlocked, .dnsNoAnswer:
            guard let netns = state.pods["pod-b"]?.netnsName else { throw LabError("pod-b is not running") }
            try Shell.run([
                "ip", "netns", "exec", netns, "iptables", "-A", "OUTPUT", "-p", fault == .dnsUDPBlocked ? "udp" : "tcp", "--dport", "53",
                "-m", "comment", "--comment", "netdoctor lab: \(fault.rawValue)", "-j", "DROP",
            ])
        case .dnsConfigMismatch:
            let path = "\(root1)/var/lib/kubelet/config.yaml"
            try LabFiles.write(path, (LabFiles.read(path) ?? "").replacingFirst("- \(LabPlan.clusterDNS)\n", with: "- 10.96.0.11\n"))
        case .dnsConfigInvalid:
            guard let sandbox = state.pods["pod-b"]?.sandboxID else { throw LabError("pod-b is not running") }
            let path = "\(root1)/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/\(sandbox)/resolv.conf"
            guard let text = LabFiles.read(path) else { throw LabError("pod-b's resolv.conf is not at \(path)") }
            try LabFiles.write(path, text + "nameserver dns.example\nnameservers 10.96.0.10\n")
        case .dnsServerError, .dnsSlow:
            // The DNS servers restarted: without an upstream (names outside the cluster REFUSED),
            // or behind a relay that answers 700 ms late (this kernel has no netem).
            for pod in LabServices.dnsPods {
                guard let netns = state.pods[pod]?.netnsName else { continue }
                for pid in ((try? Shell.run(["ip", "netns", "pids", netns])) ?? "").split(separator: "\n").compactMap({ Int32($0) })
                where LabFiles.read("/proc/\(pid)/comm")?.hasPrefix("dnsmasq") == true {
                    kill(pid, SIGTERM)
                    state.servicePIDs.removeAll { $0 == pid }  // gone: its number may be reused
                }
                usleep(200_000)
                state.servicePIDs.append(
                    try startDNSServer(in: netns, refuseOutside: fault == .dnsServerError, behindRelay: fault == .dnsSlow))
                if fault == .dnsSlow {
                    guard let ip = Shell.find("ip"),
                        let relay = ChildProcess.spawnDetached(
                            ip, arguments: ["netns", "exec", netns, Executable.path, "lab", "serve", "--slow-dns", "700"],
                            environment: Shell.environment)
                    else {
                        throw LabError("cannot start the slow DNS relay in \(pod)")
                    }
                    state.servicePIDs.append(relay)
                }
            }
            usleep(300_000)
        case .dnsLoopRisk:
            try LabFiles.write(
                "\(root1)/etc/resolv.conf", "# systemd-resolved's stub resolver\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n")
        default:
            break
        }
    }

    /// While this file exists, the node's kube-proxy stand-in reports a sync long overdue.
    static func proxyStaleFlag(_ node: String) -> String { "\(LabPlan.stateDirectory)/\(node)-kube-proxy-stale" }

    /// Each pod's IPv4 address, as the CNI plugins gave it (its eth0).
    func podAddresses(_ state: LabState) throws(LabError) -> [String: String] {
        var addresses: [String: String] = [:]
        for (name, pod) in state.pods {
            let out = try Shell.run(["ip", "-n", pod.netnsName, "-4", "-o", "addr", "show", "dev", "eth0"])
            // "2: eth0    inet 10.244.1.2/24 brd … scope global eth0"
            let words = out.split(separator: " ")
            if let inet = words.firstIndex(of: "inet"), inet + 1 < words.count {
                addresses[name] = String(words[inet + 1].split(separator: "/")[0])
            }
        }
        return addresses
    }
}

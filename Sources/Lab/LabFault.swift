import ConfigFormats
import NetAddress
import NodeFiles
import Pods

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A fault `lab break` injects: one per finding code of the contract, so that every diagnosis
/// netdoctor makes can be seen on a real (if small) network. The probe path they break is
/// pod-a → pod-c (across nodes) unless the description says otherwise.
public enum LabFault: String, Sendable, CaseIterable {
    case linkDown = "LINK_DOWN"
    case noRoute = "NO_ROUTE"
    case ipForwardDisabled = "IP_FORWARD_DISABLED"
    case neighborFailed = "NEIGHBOR_FAILED"
    case neighborMACMismatch = "NEIGHBOR_MAC_MISMATCH"
    case bridgePortMissing = "BRIDGE_PORT_MISSING"
    case overlayFDBMissing = "OVERLAY_FDB_MISSING"
    case firewallDrop = "FIREWALL_DROP"
    case duplicateIP = "DUPLICATE_IP"
    case mtuMismatch = "MTU_MISMATCH"
    case pmtuBlackhole = "PMTU_BLACKHOLE"
    case lostBeyondNode = "LOST_BEYOND_NODE"
    case replyMissing = "REPLY_MISSING"
    case portClosed = "PORT_CLOSED"
    case cniNoConfig = "CNI_NO_CONFIG"
    case cniConfigInvalid = "CNI_CONFIG_INVALID"
    case cniVersionUnsupported = "CNI_VERSION_UNSUPPORTED"
    case cniBinaryMissing = "CNI_BINARY_MISSING"
    case cniMultipleConfigs = "CNI_MULTIPLE_CONFIGS"
    case cniStaleConfig = "CNI_STALE_CONFIG"
    case runtimeConfigInvalid = "RUNTIME_CONFIG_INVALID"
    case kubeletConfigInvalid = "KUBELET_CONFIG_INVALID"
    case cniMTUTooLarge = "CNI_MTU_TOO_LARGE"
    case serviceNoEndpoints = "SERVICE_NO_ENDPOINTS"
    case serviceNotProgrammed = "SERVICE_NOT_PROGRAMMED"
    case endpointUnreachable = "ENDPOINT_UNREACHABLE"
    case staleConntrack = "STALE_CONNTRACK"
    case masqueradeMissing = "MASQUERADE_MISSING"
    case hairpinDisabled = "HAIRPIN_DISABLED"
    case proxyStale = "PROXY_STALE"
    case dnsServerUnreachable = "DNS_SERVER_UNREACHABLE"
    case dnsUDPBlocked = "DNS_UDP_BLOCKED"
    case dnsNoAnswer = "DNS_NO_ANSWER"
    case dnsConfigMismatch = "DNS_CONFIG_MISMATCH"
    case dnsConfigInvalid = "DNS_CONFIG_INVALID"
    case dnsLoopRisk = "DNS_LOOP_RISK"
    case dnsServerError = "DNS_SERVER_ERROR"
    case dnsSlow = "DNS_SLOW"
    case nodeLocalDNSBroken = "NODELOCALDNS_BROKEN"
    case policyDenied = "POLICY_DENIED"
    case policyDeniedPort = "POLICY_DENIED_PORT"
    case policyDeniedExplicit = "POLICY_DENIED_EXPLICIT"
    case proxyARPOff = "NEIGHBOR_FAILED_PROXY_ARP"
    case podRouteMissing = "NO_ROUTE_POD_ROUTE"
    case policyEngineDown = "POLICY_ENGINE_DOWN"
    case addressDADFailed = "ADDRESS_DADFAILED"
    case addressTentative = "ADDRESS_TENTATIVE"
    case ipv6RAIgnored = "IPV6_RA_IGNORED"
    case staticNeighborStale = "NEIGHBOR_MAC_MISMATCH_STATIC"
    case ipamExhausted = "IPAM_EXHAUSTED"
    case ipamLeaked = "IPAM_LEAKED"
    case bridgeAddressMismatch = "BRIDGE_ADDRESS_MISMATCH"
    case runtimeNetworkNotReady = "RUNTIME_NETWORK_NOT_READY"
    case brNetfilterDisabled = "BR_NETFILTER_DISABLED"
    case sandboxNetworkFailed = "SANDBOX_NETWORK_FAILED"
    case overlayWrongUnderlay = "OVERLAY_WRONG_UNDERLAY"
    case nodePortRangeOverlap = "NODEPORT_RANGE_OVERLAP"
    case rpFilterStrict = "RP_FILTER_STRICT"
    case bpfDrop = "BPF_DROP"
    case bpfDropTCX = "BPF_DROP_TCX"
    case ciliumDrop = "CILIUM_DROP"
    case rpFilter = "RP_FILTER"
    case calicoEBPFDrop = "CALICO_EBPF_DROP"
    case ciliumPolicyDenied = "CILIUM_POLICY_DENIED"
    case ciliumPolicyDeniedExplicit = "CILIUM_POLICY_DENIED_EXPLICIT"
    case ciliumEndpointNoProgram = "CILIUM_ENDPOINT_NO_PROGRAM"
    case ciliumPolicyProgramMissing = "CILIUM_POLICY_PROGRAM_MISSING"
    case ciliumServiceNoBackends = "CILIUM_SERVICE_NO_BACKENDS"
    case ciliumIdentityStale = "CILIUM_IDENTITY_STALE"
    case ciliumTunnelEndpointMissing = "CILIUM_TUNNEL_ENDPOINT_MISSING"

    public var summary: String {
        switch self {
        case .linkDown: "node1: pod-a's host-side veth set down"
        case .noRoute: "node1: the route to node2's pod subnet deleted"
        case .ipForwardDisabled: "node1: net.ipv4.ip_forward=0"
        case .neighborFailed: "node1: the next hop towards node2's pods never answers ARP"
        case .neighborMACMismatch: "pod-a: a permanent neighbour entry gives its gateway a wrong MAC"
        case .bridgePortMissing: "node1: pod-a's host-side veth detached from cni0 (overlay)"
        case .overlayFDBMissing: "node1: flannel.1's forwarding entry for node2 deleted (overlay)"
        case .firewallDrop: "node1: an iptables FORWARD rule drops pod-a → pod-c"
        case .duplicateIP: "node1: another interface on cni0 claims pod-b's address (overlay)"
        case .mtuMismatch: "pod-a's MTU above what the path carries"
        case .pmtuBlackhole: "as MTU_MISMATCH, and node1 drops ICMP \"fragmentation needed\""
        case .lostBeyondNode: "node2: an iptables FORWARD rule drops traffic to pod-c"
        case .replyMissing: "pod-b drops every packet it sends (probe pod-a → pod-b)"
        case .portClosed: "pod-a's HTTP server stopped (probe TCP port 80)"
        case .cniNoConfig: "node1: the conf dir emptied (config renamed to .bak)"
        case .cniConfigInvalid: "node1: a broken 00-broken.conflist sorts first"
        case .cniVersionUnsupported: "node1: cniVersion 1.1.0, which the installed plugins do not support"
        case .cniBinaryMissing: "node1: the portmap plugin removed from the bin dir"
        case .cniMultipleConfigs: "node1: a second network config (20-leftover.conflist) beside the active one"
        case .cniStaleConfig: "node1: a leftover 05-calico.conflist wins while calico is not installed"
        case .runtimeConfigInvalid: "node1: containerd's config.toml no longer parses"
        case .kubeletConfigInvalid: "node1: the kubelet's config.yaml no longer parses"
        case .cniMTUTooLarge: "node1: the CNI config's mtu above the uplink minus the overlay"
        case .serviceNoEndpoints: "both nodes: kube-proxy re-synced with default/web's endpoints gone (lab up --proxy)"
        case .serviceNotProgrammed: "node1: kube-proxy's rules flushed, as when it is down (lab up --proxy)"
        case .endpointUnreachable:
            "node2: an iptables FORWARD rule drops TCP to pod-c's port 8080, default/web's endpoint there (lab up --proxy)"
        case .staleConntrack:
            "node1: a UDP conntrack entry from pod-b to default/echo left pointing at 10.244.2.99, an endpoint that is gone (lab up --proxy)"
        case .masqueradeMissing: "node1: kube-proxy's MASQUERADE rule (nftables: the masquerading chain) removed (lab up --proxy)"
        case .hairpinDisabled: "node1: hairpin off on pod-a's bridge port; pod-a is an endpoint of default/web (lab up --proxy, overlay)"
        case .proxyStale:
            "node1: kube-proxy's metrics (the lab's stand-in) report a change queued ten minutes ago and never synced (lab up --proxy)"
        case .dnsServerUnreachable:
            "both nodes: kube-proxy re-synced with kube-system/kube-dns's endpoints gone; pod-b's nameserver rejects it (lab up --proxy)"
        case .dnsUDPBlocked: "pod-b: an egress rule in its namespace drops UDP to port 53, TCP passes (lab up --proxy)"
        case .dnsNoAnswer: "pod-b: an egress rule in its namespace drops TCP to port 53, UDP passes (lab up --proxy)"
        case .dnsConfigMismatch:
            "node1: the kubelet's clusterDNS changed to 10.96.0.11; pod-b's resolv.conf still names 10.96.0.10 (lab up --proxy)"
        case .dnsConfigInvalid:
            "node1: pod-b's resolv.conf (containerd's sandbox copy) gains a nameserver that is no address and a line no resolver reads (lab up --proxy)"
        case .dnsLoopRisk:
            "node1: the node's /etc/resolv.conf (the kubelet's resolvConf) becomes systemd-resolved's stub, nameserver 127.0.0.53 (lab up --proxy)"
        case .dnsServerError:
            "pod-a and pod-c: the cluster DNS servers restarted without an upstream: names outside the cluster are REFUSED (ask for example.com) (lab up --proxy)"
        case .dnsSlow:
            "pod-a and pod-c: the cluster DNS servers answer 700 ms late (a relay in front of dnsmasq: this kernel has no netem) (lab up --proxy)"
        case .nodeLocalDNSBroken:
            "node1: the nodelocaldns link deleted, node-cache's NOTRACK rules left behind (lab up --proxy iptables --nodelocaldns)"
        case .policyDenied:
            "NetworkPolicy default/deny-all selects pod-a for ingress and allows nothing (probe pod-b → pod-a) (calico topology)"
        case .policyDeniedPort:
            "NetworkPolicies default/allow-8080 and default/allow-metrics select pod-a for ingress and allow TCP 8080 and 9100 only (probe pod-b → pod-a --port 80); felix puts the two in a policy group chain (calico topology)"
        case .policyDeniedExplicit:
            "GlobalNetworkPolicy deny-web-egress denies pod-b's egress to TCP 80 (probe pod-b → pod-a --port 80) (calico topology, calico engines)"
        case .proxyARPOff: "node1: proxy ARP off on pod-a's host veth, pod-a's entry for 169.254.1.1 flushed (calico topology)"
        case .podRouteMissing: "node1: the host route to pod-b (its /32 via its cali veth) deleted (probe pod-a → pod-b) (calico topology)"
        case .policyEngineDown:
            "node1: kube-network-policies' queue listener stopped while a policy selects pod-a (calico topology, --policy-engine kube-network-policies)"
        case .addressDADFailed:
            "pod-b's IPv6 address re-added with DAD on while node1 holds it too: duplicate address detection fails (probe pod-a → pod-b) (--family dual or 6)"
        case .addressTentative:
            "pod-b's IPv6 address re-added with DAD on and 30 probes: it stays tentative for half a minute (probe pod-a → pod-b) (--family dual or 6)"
        case .ipv6RAIgnored:
            "node1: accept_ra=1 on eth0 while IPv6 forwarding is on: node2's router advertisements are ignored, the default route they gave expires (--family dual or 6)"
        case .staticNeighborStale:
            "node1: a permanent neighbour entry pins its next hop towards node2's pods (node2's underlay address) to a MAC node2 does not have, as a static entry left after a NIC was replaced (routed topology; --family 6: its NDP entry)"
        case .ipamExhausted:
            "node1: every free address of its pod range reserved through the real host-local, for containers no runtime knows (as sandboxes whose CNI DEL never ran)"
        case .ipamLeaked:
            "node1: three addresses reserved through the real host-local for containers the runtime never had (a DEL that never ran)"
        case .bridgeAddressMismatch:
            "node1: its pod subnet changed in the CNI config (10.244.101.0/24) while cni0 keeps the old gateway address (overlay)"
        case .runtimeNetworkNotReady: "node1: the conf dir emptied; containerd reports NetworkReady=false (cni plugin not initialized)"
        case .brNetfilterDisabled:
            "node1: net.bridge.bridge-nf-call-iptables=0, as after a reboot that did not persist it (overlay, lab up --proxy)"
        case .rpFilterStrict:
            "node1: net.ipv4.conf.all.rp_filter=1 and a host route to pod-a's address by eth0, as an earlier CNI left it: pod-a's packets, coming in by cni0, fail the strict reverse-path check (overlay)"
        case .ciliumDrop:
            "node1: a stand-in of Cilium's policy drop: a tc program named as Cilium's (cil_to_container) on pod-b's host-side veth drops every packet to pod-b and counts it as Cilium does, in a cilium_metrics of Cilium 1.16+'s layout pinned where Cilium pins it (node1's root /sys/fs/bpf/tc/globals): reason 133 Policy denied, ingress, bpf_lxc.c (probe pod-a → pod-b)"
        case .calicoEBPFDrop:
            "node1: a stand-in of Calico's eBPF policy drop: a tc program named as Calico's (calico_tc_main) on pod-b's host-side veth's egress drops every packet to pod-b and counts it as felix's programs do, in a cali_counters3 of Calico 3.30's layout pinned where felix pins it (node1's root /sys/fs/bpf/tc/globals): reason 4, Dropped by policy, on the tc egress hook (probe pod-a → pod-b)"
        case .bpfDropTCX:
            "as BPF_DROP, attached as a tcx link (kernel 6.6 on) as Cilium 1.16+ attaches its programs, pinned under /sys/fs/bpf/netdoctor-lab: tc filter show lists nothing, only BPF_PROG_QUERY finds it"
        case .rpFilter:
            "node1: a policy route for what comes from the overlay (ip rule iif flannel.1 to pod-a, table 100: pod-a's address via node2's eth0), as a routing daemon may leave one, and strict reverse-path filtering (net.ipv4.conf.all.rp_filter=1): pod-a's requests to pod-c, checked as if answered from flannel.1, find the route back to pod-a leaving by eth0, not cni0 where they came in (overlay; trace pod-a to pod-c's address)"
        case .ciliumPolicyDenied, .ciliumPolicyDeniedExplicit, .ciliumEndpointNoProgram, .ciliumPolicyProgramMissing,
            .ciliumServiceNoBackends, .ciliumIdentityStale, .ciliumTunnelEndpointMissing:
            ciliumSummary
        case .bpfDrop:
            "node1: a tc program of the lab's own (lab_drop_probe, direct-action) on pod-b's host-side veth's egress drops every packet to or from pod-b's address, as a CNI's or security agent's program would (probe pod-a → pod-b)"
        case .nodePortRangeOverlap:
            "node1: net.ipv4.ip_local_port_range widened to 20000-60999 (a tuning guide's advice), over the NodePorts 30080 and 30081 (lab up --proxy)"
        case .overlayWrongUnderlay:
            "node1: a second NIC, eth1 (10.0.2.15, as every VirtualBox VM's NAT interface), and flannel.1 made again bound to it, as flanneld does when it picks that interface (overlay)"
        case .sandboxNetworkFailed:
            "node1: its main CNI plugin's binary removed, then a new pod (pod-new) asked of its containerd, whose sandbox gets no network (its log: /var/lib/netdoctor-lab/containerd-node1.log)"
        }
    }

    /// Faults that need the lab's Services (lab up --proxy).
    public var needsServices: Bool {
        [
            .serviceNoEndpoints, .serviceNotProgrammed, .endpointUnreachable, .staleConntrack, .masqueradeMissing, .hairpinDisabled,
            .proxyStale,
            .dnsServerUnreachable, .dnsUDPBlocked, .dnsNoAnswer, .dnsConfigMismatch, .dnsConfigInvalid, .dnsLoopRisk, .dnsServerError,
            .dnsSlow, .nodeLocalDNSBroken, .brNetfilterDisabled, .nodePortRangeOverlap,
        ]
        .contains(self)
    }

    /// Faults that can be injected on node2 instead (`lab break FAULT --node node2`): the remote
    /// half of pod-a → pod-c, which only node2's agent can see.
    public var node2Summary: String? {
        switch self {
        case .linkDown: "node2: pod-c's host-side veth set down"
        case .noRoute: "pod-c: its default route deleted (no way back for replies)"
        case .ipForwardDisabled: "node2: net.ipv4.ip_forward=0"
        case .firewallDrop: "node2: an iptables FORWARD rule drops ICMP to pod-c"
        case .mtuMismatch: "pod-c: MTU 9000 on its eth0 and host veth, far above the path"
        case .policyDenied: "NetworkPolicy default/deny-all-c selects pod-c for ingress and allows nothing (calico topology)"
        case .bpfDrop: "node2: the lab's tc program on pod-c's host-side veth's egress drops every packet to or from pod-c"
        default: nil
        }
    }

    /// Faults of the calico topology's wiring and policy engines.
    public var needsCalico: Bool {
        [.policyDenied, .policyDeniedPort, .policyDeniedExplicit, .proxyARPOff, .podRouteMissing, .policyEngineDown].contains(self)
    }

    /// Faults of the cilium topology's datapath (its maps and programs).
    public var needsCilium: Bool { rawValue.hasPrefix("CILIUM_") && self != .ciliumDrop }

    /// Faults of IPv6 only (a lab with IPv6 pods: --family dual or 6).
    public var needsIPv6: Bool { [.addressDADFailed, .addressTentative, .ipv6RAIgnored].contains(self) }

    /// Faults that need a bridge and an overlay.
    public var needsOverlay: Bool {
        [
            .bridgePortMissing, .overlayFDBMissing, .duplicateIP, .hairpinDisabled, .bridgeAddressMismatch, .brNetfilterDisabled,
            .rpFilter,
        ]
        .contains(self)
    }

    /// Faults of the routed topology's node routes (a next hop on the underlay).
    public var needsRouted: Bool { self == .staticNeighborStale }
}

extension Lab {
    /// Injects a fault into the running lab: on node1 (or where its summary says), or with
    /// `node` "node2", the node2 variant.
    public func inject(_ fault: LabFault, node: String? = nil, family asked: IPFamily? = nil, state: inout LabState) throws(LabError) {
        if fault.needsCilium {
            guard plan.topology == .cilium else { throw LabError("\(fault.rawValue) needs the cilium topology (lab up --topology cilium)") }
            if let node, node != "node1" { throw LabError("\(fault.rawValue) breaks where its summary says: no --node") }
            try injectCilium(fault, state: state)
            state.faults.append(fault.rawValue)
            try save(state)
            return
        }
        let family = try checkFamily(fault, asked: asked, node: node)
        if let node, node != "node1" {
            guard node == "node2" else { throw LabError("no node \(node) (node1 or node2)") }
            if family == .ipv6, fault.ipv6Node2Summary != nil {
                try injectIPv6OnNode2(fault, state: &state)
            } else {
                try injectOnNode2(fault, state: &state)
            }
            state.faults.append("\(fault.rawValue)@node2" + (family == .ipv6 ? "/IPv6" : ""))
            try save(state)
            return
        }
        if fault.needsOverlay && plan.topology != .overlay {
            throw LabError("\(fault.rawValue) needs the overlay topology (lab up --topology overlay)")
        }
        if fault.needsRouted && plan.topology != .routed {
            throw LabError("\(fault.rawValue) needs the routed topology (lab up --topology routed)")
        }
        if fault.needsCalico && plan.topology != .calico {
            throw LabError("\(fault.rawValue) needs the calico topology (lab up --topology calico)")
        }
        if fault.needsServices, state.proxy == nil {
            throw LabError("\(fault.rawValue) needs the lab's Services (lab up --proxy iptables|nftables)")
        }
        if family == .ipv6, fault.ipv6Summary != nil {
            try injectIPv6(fault, state: &state)
            state.faults.append("\(fault.rawValue)@IPv6")
            try save(state)
            return
        }
        let node1 = plan.nodes[0], node2 = plan.nodes[1]
        let podA = try attachment("pod-a", state: state), podB = try attachment("pod-b", state: state),
            podC = try attachment("pod-c", state: state)
        let root1 = plan.nodeRoot(node1)
        let n1 = node1.namespace
        switch fault {
        case .linkDown:
            try Shell.run(["ip", "-n", n1, "link", "set", podA.hostInterface, "down"])
        case .noRoute:
            try Shell.run(["ip", "-n", n1, "route", "del", node2.podSubnet])
        case .ipForwardDisabled:
            try Shell.inNamespace(n1, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
        case .neighborFailed:
            switch plan.topology {
            case .overlay:
                // Without its permanent entry, the VTEP address is resolved by ARP on a
                // nolearning VXLAN device: nobody answers.
                try Shell.run(["ip", "-n", n1, "neigh", "del", node2.vtepAddress, "dev", "flannel.1"])
            case .routed, .calico, .cilium:
                try Shell.run(["ip", "-n", n1, "route", "replace", node2.podSubnet, "via", "192.168.77.99", "dev", "eth0"])
            }
        case .neighborMACMismatch:
            try Shell.run([
                "ip", "-n", podA.netns, "neigh", "replace", node1.podGateway,
                "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "permanent",
            ])
        case .staticNeighborStale:
            try Shell.run([
                "ip", "-n", n1, "neigh", "replace", node2.underlayAddress, "lladdr", "02:00:00:00:00:98", "dev", "eth0", "nud", "permanent",
            ])
        case .bridgePortMissing:
            try Shell.run(["ip", "-n", n1, "link", "set", podA.hostInterface, "nomaster"])
        case .overlayFDBMissing:
            try Shell.run(["bridge", "-n", n1, "fdb", "del", node2.vtepMAC, "dev", "flannel.1", "dst", node2.underlayAddress])
        case .firewallDrop:
            try Shell.inNamespace(
                n1,
                [
                    "iptables", "-I", "FORWARD", "-s", podA.address, "-d", podC.address,
                    "-m", "comment", "--comment", "netdoctor lab: FIREWALL_DROP", "-j", "DROP",
                ])
        case .duplicateIP:
            let ns = "\(plan.prefix)-dup"
            try Shell.run(["ip", "netns", "add", ns])
            try Shell.run(["ip", "-n", n1, "link", "add", "\(plan.prefix)-dup0", "type", "veth", "peer", "name", "eth0", "netns", ns])
            try Shell.run(["ip", "-n", n1, "link", "set", "\(plan.prefix)-dup0", "master", "cni0", "up"])
            try Shell.run(["ip", "-n", ns, "addr", "add", "\(podB.address)/24", "dev", "eth0"])
            try Shell.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        case .mtuMismatch, .pmtuBlackhole:
            try raisePodMTU(podA)
            if fault == .pmtuBlackhole {
                for chain in ["OUTPUT", "FORWARD"] {
                    try Shell.inNamespace(
                        n1,
                        [
                            "iptables", "-I", chain, "-p", "icmp", "--icmp-type", "fragmentation-needed",
                            "-m", "comment", "--comment", "netdoctor lab: PMTU_BLACKHOLE", "-j", "DROP",
                        ])
                }
            }
        case .lostBeyondNode:
            try Shell.inNamespace(
                node2.namespace,
                [
                    "iptables", "-I", "FORWARD", "-d", podC.address,
                    "-m", "comment", "--comment", "netdoctor lab: LOST_BEYOND_NODE", "-j", "DROP",
                ])
        case .bpfDrop, .bpfDropTCX:
            try attachLabDrop(namespace: n1, interface: podB.hostInterface, address: podB.address, tcx: fault == .bpfDropTCX)
        case .ciliumDrop:
            try attachLabDrop(
                namespace: n1, interface: podB.hostInterface, address: podB.address, program: "cil_to_container",
                countersPin: ("cilium_metrics", root1 + "/sys/fs/bpf/tc/globals/cilium_metrics"))
        case .calicoEBPFDrop:
            try attachLabDrop(
                namespace: n1, interface: podB.hostInterface, address: podB.address, program: "calico_tc_main",
                countersPin: ("cali_counters3", root1 + "/sys/fs/bpf/tc/globals/cali_counters3"))
        case .ciliumPolicyDenied, .ciliumPolicyDeniedExplicit, .ciliumEndpointNoProgram, .ciliumPolicyProgramMissing,
            .ciliumServiceNoBackends, .ciliumIdentityStale, .ciliumTunnelEndpointMissing:
            try injectCilium(fault, state: state)
        case .rpFilter:
            // The check looks pod-a up as if sending to it from the interface the request is
            // forwarded to (flannel.1): only that lookup takes the rule; pod-a's ARP, checked as
            // local traffic, and the forwarding itself do not.
            try Shell.run(["ip", "-n", n1, "rule", "add", "iif", "flannel.1", "to", "\(podA.address)/32", "lookup", "100", "pref", "100"])
            try Shell.run([
                "ip", "-n", n1, "route", "add", "\(podA.address)/32", "via", node2.underlayAddress, "dev", "eth0", "table", "100",
            ])
            try Shell.inNamespace(n1, ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1"])
        case .replyMissing:
            try Shell.inNamespace(
                podB.netns,
                [
                    "iptables", "-I", "OUTPUT",
                    "-m", "comment", "--comment", "netdoctor lab: REPLY_MISSING", "-j", "DROP",
                ])
        case .portClosed:
            if let pid = state.serverPID { kill(pid, SIGTERM); var s: Int32 = 0; usleep(100_000); _ = waitpid(pid, &s, WNOHANG) }
            state.serverPID = nil
        case .cniNoConfig:
            let path = "\(root1)/etc/cni/net.d/\(plan.configFileName)"
            guard rename(path, path + ".bak") == 0 else { throw LabError("cannot move \(path)") }
        case .cniConfigInvalid:
            try LabFiles.write(
                "\(root1)/etc/cni/net.d/00-broken.conflist",
                "{\n  \"cniVersion\": \"1.0.0\",\n  \"name\": \"broken\",\n  \"plugins\": [{\"type\": \"bridge\",}]\n}\n")
        case .cniVersionUnsupported:
            try LabFiles.write(
                "\(root1)/etc/cni/net.d/\(plan.configFileName)",
                plan.networkConfig(for: node1).replacingFirst("\"cniVersion\": \"1.0.0\"", with: "\"cniVersion\": \"1.1.0\""))
        case .cniBinaryMissing:
            unlink("\(root1)/opt/cni/bin/portmap")
        case .cniMultipleConfigs:
            try LabFiles.write(
                "\(root1)/etc/cni/net.d/20-leftover.conflist",
                """
                {"cniVersion": "1.0.0", "name": "leftover", "plugins": [{"type": "macvlan", "master": "eth0",
                  "ipam": {"type": "host-local", "subnet": "10.99.0.0/24"}}]}

                """)
        case .cniStaleConfig:
            try LabFiles.write(
                "\(root1)/etc/cni/net.d/05-calico.conflist",
                """
                {"name": "k8s-pod-network", "cniVersion": "0.3.1", "plugins": [
                  {"type": "calico", "nodename": "node1", "mtu": 0, "ipam": {"type": "calico-ipam"}},
                  {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}}]}

                """)
        case .runtimeConfigInvalid:
            let path = "\(root1)/etc/containerd/config.toml"
            try LabFiles.write(
                path, (LabFiles.read(path) ?? "") + "[plugins.\"io.containerd.grpc.v1.cri\".cni\n  bin_dir = ${cni_bin_dir}\n")
        case .kubeletConfigInvalid:
            let path = "\(root1)/var/lib/kubelet/config.yaml"
            try LabFiles.write(path, (LabFiles.read(path) ?? "") + "clusterDNS: [10.96.0.10\n")
        case .cniMTUTooLarge:
            let wanted = plan.topology == .overlay ? plan.overlayPodMTU : LabPlan.underlayMTU
            try LabFiles.write(
                "\(root1)/etc/cni/net.d/\(plan.configFileName)",
                plan.networkConfig(for: node1).replacingFirst("\"mtu\": \(wanted)", with: "\"mtu\": 9000"))
        case .serviceNoEndpoints, .serviceNotProgrammed, .endpointUnreachable, .staleConntrack, .masqueradeMissing, .hairpinDisabled,
            .proxyStale:
            try injectServiceFault(fault, state: state)
        case .dnsServerUnreachable, .dnsUDPBlocked, .dnsNoAnswer, .dnsConfigMismatch, .dnsConfigInvalid, .dnsLoopRisk, .dnsServerError,
            .dnsSlow:
            try injectDNSFault(fault, state: &state)
        case .nodeLocalDNSBroken:
            guard state.nodeLocalDNS else {
                throw LabError("NODELOCALDNS_BROKEN needs NodeLocal DNSCache (lab up --proxy iptables --nodelocaldns)")
            }
            try Shell.run(["ip", "-n", node1.namespace, "link", "del", "nodelocaldns"])
        case .policyDenied: try addPolicy(.defaultDeny, state: &state)
        case .policyDeniedPort:
            // Two policies of one selector: felix 3.28+ puts them in a policy group chain.
            try addPolicy(.wrongPort, state: &state)
            try addPolicy(.metricsPort, state: &state)
        case .policyDeniedExplicit: try addPolicy(.explicitDeny, state: &state)
        case .proxyARPOff:
            try Shell.inNamespace(n1, ["sysctl", "-q", "-w", "net.ipv4.conf.\(podA.hostInterface).proxy_arp=0"])
            Shell.attempt(["ip", "-n", podA.netns, "neigh", "flush", "dev", "eth0"])
        case .podRouteMissing:
            try Shell.run(["ip", "-n", n1, "route", "del", "\(podB.address)/32", "dev", podB.hostInterface])
        case .addressDADFailed, .addressTentative, .ipv6RAIgnored:
            break  // IPv6 only: injectIPv6
        case .ipamExhausted, .ipamLeaked, .bridgeAddressMismatch, .runtimeNetworkNotReady, .brNetfilterDisabled, .sandboxNetworkFailed,
            .overlayWrongUnderlay, .nodePortRangeOverlap, .rpFilterStrict:
            try injectNodeFault(fault, state: state)
        case .policyEngineDown:
            guard state.policyEngine == LabPolicyEngine.kubeNetworkPolicies.rawValue, let listener = state.queueListeners[node1.name] else {
                throw LabError("POLICY_ENGINE_DOWN needs --policy-engine kube-network-policies")
            }
            try addPolicy(.defaultDeny, state: &state)
            // addPolicy restarted the listener: stop the new one, and forget it (its number may be
            // reused by then: `lab down` must not signal whoever has it).
            Self.stop(state.queueListeners[node1.name] ?? listener)
            state.queueListeners[node1.name] = nil
        }
        state.faults.append(fault.rawValue)
        try save(state)
    }

    func injectOnNode2(_ fault: LabFault, state: inout LabState) throws(LabError) {
        guard fault.node2Summary != nil else {
            throw LabError(
                "\(fault.rawValue) has no node2 variant (those with one: LINK_DOWN, NO_ROUTE, IP_FORWARD_DISABLED, FIREWALL_DROP, MTU_MISMATCH, POLICY_DENIED, BPF_DROP)"
            )
        }
        let node2 = plan.nodes[1]
        let podC = try attachment("pod-c", state: state)
        let n2 = node2.namespace
        switch fault {
        case .linkDown:
            try Shell.run(["ip", "-n", n2, "link", "set", podC.hostInterface, "down"])
        case .noRoute:
            // Not node2's route to node1's pods: the CNI masquerades pod traffic leaving node1,
            // so replies go to node1's own address, which needs no pod route.
            try Shell.run(["ip", "-n", podC.netns, "route", "del", "default"])
        case .ipForwardDisabled:
            try Shell.inNamespace(n2, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"])
        case .firewallDrop:
            // By source too on node1; here the source may arrive masqueraded (the CNI's ipMasq).
            try Shell.inNamespace(
                n2,
                [
                    "iptables", "-I", "FORWARD", "-d", podC.address, "-p", "icmp",
                    "-m", "comment", "--comment", "netdoctor lab: FIREWALL_DROP on node2", "-j", "DROP",
                ])
        case .bpfDrop:
            try attachLabDrop(namespace: n2, interface: podC.hostInterface, address: podC.address)
        case .mtuMismatch:
            try Shell.run(["ip", "-n", n2, "link", "set", podC.hostInterface, "mtu", "9000"])
            try Shell.run(["ip", "-n", podC.netns, "link", "set", "eth0", "mtu", "9000"])
        case .policyDenied:
            try addPolicy(.defaultDenyRemote, state: &state)
        default:
            break
        }
    }

    /// pod-a's eth0 and host veth above the path: 1500 over the 1450 overlay (flannel's or
    /// calico's); on the routed
    /// topology the underlay is lowered to 1400 under 1500-byte pods.
    func raisePodMTU(_ podA: PodAttachment) throws(LabError) {
        let n1 = plan.nodes[0].namespace
        switch plan.topology {
        case .overlay, .calico, .cilium:
            try Shell.run(["ip", "-n", n1, "link", "set", podA.hostInterface, "mtu", "1500"])
            try Shell.run(["ip", "-n", podA.netns, "link", "set", "eth0", "mtu", "1500"])
        case .routed:
            for node in plan.nodes { try Shell.run(["ip", "-n", node.namespace, "link", "set", "eth0", "mtu", "1400"]) }
        }
    }

    /// A pod's address, host-side veth and namespace: from the result its runtime cached in
    /// libcni's cache (its pod network, not the runtime's loopback) and the sandbox it made.
    public struct PodAttachment: Sendable {
        /// Its IPv4 address (its IPv6 one in an IPv6-only lab), and its IPv6 one when it has one.
        public var address: String
        public var address6: String?
        public var hostInterface: String
        /// The pod's namespace as `ip netns` names it (containerd's cni-…).
        public var netns: String
    }

    public func attachment(_ name: String, state: LabState) throws(LabError) -> PodAttachment {
        guard let pod = plan.pod(name), let node = plan.node(pod.node), let running = state.pods[name] else {
            throw LabError("\(name) is not running: is the lab up?")
        }
        // The pod as netdoctor's commands see it, from the cache its runtime wrote.
        let cached = PodDirectory(root: NodeRoot(plan.nodeRoot(node))).pods.first { $0.containerID == running.sandboxID }
        guard let address = cached?.primaryAddress() ?? cached?.primaryAddress(ipv4: false), let host = cached?.primary?.hostSideInterface
        else {
            throw LabError("no cached result for \(name) (sandbox \(running.sandboxID.prefix(13))) on \(node.name): is the lab up?")
        }
        return PodAttachment(
            address: address.description, address6: cached?.primaryAddress(ipv4: false)?.description, hostInterface: host,
            netns: running.netnsName)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}

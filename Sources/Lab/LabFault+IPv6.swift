import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The IPv6 halves of the lab's faults (`lab break FAULT --family 6`), named by the same codes as
/// their IPv4 halves, and the faults only IPv6 has. pod-a → pod-c in IPv6 unless said otherwise.
extension LabFault {
    /// What the fault does to IPv6; nil: it has no IPv6 half of its own (it breaks both families,
    /// or IPv4 only).
    public var ipv6Summary: String? {
        switch self {
        case .noRoute:
            "node1: the IPv6 route to node2's pod subnet deleted; on overlay and calico node1 first learns an IPv6 default route from a router on a second uplink (eth1), which the request then falls through to"
        case .ipForwardDisabled: "node1: net.ipv6.conf.all.forwarding=0 (IPv4 still forwarded)"
        case .neighborFailed: "node1: the IPv6 next hop towards node2's pods never answers neighbour solicitations"
        case .neighborMACMismatch: "pod-a: a permanent neighbour entry gives its IPv6 gateway a wrong MAC"
        case .overlayFDBMissing: "node1: flannel-v6.1's forwarding entry for node2 deleted (overlay)"
        case .firewallDrop: "node1: an ip6tables FORWARD rule drops pod-a → pod-c (IPv4 passes)"
        case .pmtuBlackhole: "as MTU_MISMATCH, and node1 drops ICMPv6 \"packet too big\" (ip6tables)"
        case .lostBeyondNode: "node2: an ip6tables FORWARD rule drops traffic to pod-c"
        case .replyMissing:
            "pod-b drops every IPv6 reply it sends: echo replies, TCP, UDP (ip6tables; neighbour discovery passes, as ARP does past iptables; probe pod-a → pod-b)"
        case .bpfDrop:
            "node1: the lab's tc program on pod-b's host-side veth drops every packet to or from pod-b's IPv6 address (IPv4 passes; probe pod-a → pod-b)"
        case .addressDADFailed, .addressTentative, .ipv6RAIgnored, .staticNeighborStale: summary
        default: nil
        }
    }

    /// The node2 variants' IPv6 halves.
    public var ipv6Node2Summary: String? {
        switch self {
        case .noRoute: "pod-c: its IPv6 default route deleted (no way back for IPv6 replies)"
        case .ipForwardDisabled: "node2: net.ipv6.conf.all.forwarding=0"
        case .firewallDrop: "node2: an ip6tables FORWARD rule drops ICMPv6 to pod-c"
        default: nil
        }
    }
}

extension Lab {
    /// The family a fault is injected in: as asked, else the lab's only one, else IPv4 (IPv6 for
    /// a fault only IPv6 has).
    public func family(for fault: LabFault, asked: IPFamily?) -> IPFamily {
        asked ?? (plan.family == .ipv6 || fault.needsIPv6 ? .ipv6 : .ipv4)
    }

    func checkFamily(_ fault: LabFault, asked: IPFamily?, node: String?) throws(LabError) -> IPFamily {
        let family = family(for: fault, asked: asked)
        if family == .ipv6, !plan.family.hasIPv6 { throw LabError("\(fault.rawValue) in IPv6 needs IPv6 pods (lab up --family dual or 6)") }
        if family == .ipv4, !plan.family.hasIPv4 { throw LabError("this lab's pods are IPv6 only: no IPv4 half to break") }
        if family == .ipv4, fault.needsIPv6 { throw LabError("\(fault.rawValue) is IPv6's (--family 6)") }
        return family
    }

    func injectIPv6(_ fault: LabFault, state: inout LabState) throws(LabError) {
        let node1 = plan.nodes[0], node2 = plan.nodes[1], n1 = node1.namespace
        let podA = try attachment("pod-a", state: state), podB = try attachment("pod-b", state: state),
            podC = try attachment("pod-c", state: state)
        guard let a6 = podA.address6, let b6 = podB.address6, let c6 = podC.address6 else {
            throw LabError("the pods have no IPv6 addresses")
        }
        switch fault {
        case .noRoute:
            // Where node1 knows the pod network from its overlay device (flannel's or calico's
            // VTEP entries), a router on its uplink gives it a default route first: the missing
            // route then falls through to it, as on a real node, instead of failing at once.
            if plan.topology != .routed { try startUplinkRouter(state: &state) }
            try Shell.run(["ip", "-n", n1, "-6", "route", "del", node2.podSubnet6])
        case .ipForwardDisabled:
            try Shell.inNamespace(n1, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0"])
        case .neighborFailed:
            switch plan.topology {
            case .overlay:
                try Shell.run(["ip", "-n", n1, "neigh", "del", node2.vtepAddress6, "dev", LabPlan.vxlanDevice6])
            case .routed, .calico, .cilium:
                try Shell.run(["ip", "-n", n1, "-6", "route", "replace", node2.podSubnet6, "via", "fd00:77::99", "dev", "eth0"])
            }
        case .staticNeighborStale:
            try Shell.run([
                "ip", "-n", n1, "-6", "neigh", "replace", node2.underlayAddress6, "lladdr", "02:00:00:00:00:98", "dev", "eth0", "nud",
                "permanent",
            ])
        case .neighborMACMismatch:
            let gateway = try podGateway6(podA)
            try Shell.run([
                "ip", "-n", podA.netns, "-6", "neigh", "replace", gateway, "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud", "permanent",
            ])
        case .overlayFDBMissing:
            try Shell.run(["bridge", "-n", n1, "fdb", "del", node2.vtepMAC6, "dev", LabPlan.vxlanDevice6, "dst", node2.underlayAddress6])
        case .firewallDrop:
            try Shell.inNamespace(
                n1,
                [
                    "ip6tables", "-I", "FORWARD", "-s", a6, "-d", c6,
                    "-m", "comment", "--comment", "netdoctor lab: FIREWALL_DROP (IPv6)", "-j", "DROP",
                ])
        case .pmtuBlackhole:
            try raisePodMTU(podA)
            for chain in ["OUTPUT", "FORWARD"] {
                try Shell.inNamespace(
                    n1,
                    [
                        "ip6tables", "-I", chain, "-p", "icmpv6", "--icmpv6-type", "packet-too-big",
                        "-m", "comment", "--comment", "netdoctor lab: PMTU_BLACKHOLE (IPv6)", "-j", "DROP",
                    ])
            }
        case .lostBeyondNode:
            try Shell.inNamespace(
                node2.namespace,
                [
                    "ip6tables", "-I", "FORWARD", "-d", c6,
                    "-m", "comment", "--comment", "netdoctor lab: LOST_BEYOND_NODE (IPv6)", "-j", "DROP",
                ])
        case .bpfDrop:
            try attachLabDrop(namespace: n1, interface: podB.hostInterface, address: b6)
        case .replyMissing:
            // Not all of OUTPUT: that would drop pod-b's neighbour advertisements too, and the
            // request would never arrive (iptables never sees IPv4's ARP).
            for match in [["-p", "icmpv6", "--icmpv6-type", "echo-reply"], ["-p", "tcp"], ["-p", "udp"]] {
                try Shell.inNamespace(
                    podB.netns,
                    ["ip6tables", "-I", "OUTPUT"] + match
                        + ["-m", "comment", "--comment", "netdoctor lab: REPLY_MISSING (IPv6)", "-j", "DROP"])
            }
        case .addressDADFailed:
            // node1 answers for pod-b's address on pod-b's segment (the bridge, or pod-b's veth
            // on routed), then pod-b's address goes through DAD again.
            let holder = plan.topology == .overlay ? "cni0" : podB.hostInterface
            try Shell.run(["ip", "-n", n1, "addr", "add", "\(b6)/128", "dev", holder, "nodad"])
            try readdWithDAD(b6, in: podB.netns, transmits: 1)
            usleep(2_500_000)  // one solicitation, one second to answer, and the kernel's verdict
        case .addressTentative:
            try readdWithDAD(b6, in: podB.netns, transmits: 30)
        case .ipv6RAIgnored:
            // node2 starts advertising; once node1 has the default route from it, node1 stops
            // listening (as after a CNI turned forwarding on with accept_ra left at 1).
            if state.routerPID == nil { state.routerPID = try startRouterAdvertiser() }
            var learned = false
            for _ in 0..<60 where !learned {
                learned = ((try? Shell.run(["ip", "-n", n1, "-6", "route", "show", "default", "proto", "ra"])) ?? "").contains("via")
                if !learned { usleep(50_000) }
            }
            guard learned else { throw LabError("node1 learned no default route from node2's router advertisements") }
            try Shell.inNamespace(n1, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_ra=1"])
        default:
            _ = a6
            throw LabError("\(fault.rawValue) has no IPv6 half (it breaks both families, or only IPv4)")
        }
    }

    func injectIPv6OnNode2(_ fault: LabFault, state: inout LabState) throws(LabError) {
        let n2 = plan.nodes[1].namespace
        let podC = try attachment("pod-c", state: state)
        guard let c6 = podC.address6 else { throw LabError("pod-c has no IPv6 address") }
        switch fault {
        case .noRoute:
            try Shell.run(["ip", "-n", podC.netns, "-6", "route", "del", "default"])
        case .ipForwardDisabled:
            try Shell.inNamespace(n2, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=0"])
        case .firewallDrop:
            try Shell.inNamespace(
                n2,
                [
                    "ip6tables", "-I", "FORWARD", "-d", c6, "-p", "icmpv6",
                    "-m", "comment", "--comment", "netdoctor lab: FIREWALL_DROP on node2 (IPv6)", "-j", "DROP",
                ])
        default:
            throw LabError("\(fault.rawValue) has no IPv6 node2 variant")
        }
    }

    /// A pod's IPv6 default gateway, as its route names it.
    func podGateway6(_ pod: PodAttachment) throws(LabError) -> String {
        let out = try Shell.run(["ip", "-n", pod.netns, "-6", "route", "show", "default"])
        let words = out.split(separator: " ").map(String.init)
        guard let via = words.firstIndex(of: "via"), via + 1 < words.count else { throw LabError("\(pod.netns) has no IPv6 default route") }
        return words[via + 1]
    }

    /// The address deleted and added again with duplicate address detection on (CNIs turn it
    /// off on pod interfaces), `transmits` solicitations a second apart; its prefix length as the
    /// CNI gave it (a /64 from the bridge plugin, calico's /128).
    func readdWithDAD(_ address: String, in netns: String, transmits: Int) throws(LabError) {
        let shown = try Shell.run(["ip", "-n", netns, "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global"])
        let words = shown.split(separator: " ").map(String.init)
        guard let cidr = words.first(where: { $0.hasPrefix(address + "/") }) else {
            throw LabError("\(address) is not on eth0 in \(netns)")
        }
        try Shell.inNamespace(
            netns, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=1", "net.ipv6.conf.eth0.dad_transmits=\(transmits)"])
        // Deleting the address takes routes through it with it (calico's default route via the
        // host veth's link-local stays: it needs no global address).
        let routes = try Shell.run(["ip", "-n", netns, "-6", "route", "show", "default"])
        try Shell.run(["ip", "-n", netns, "addr", "del", cidr, "dev", "eth0"])
        try Shell.run(["ip", "-n", netns, "addr", "add", cidr, "dev", "eth0"])
        if !routes.isEmpty, ((try? Shell.run(["ip", "-n", netns, "-6", "route", "show", "default"])) ?? "").isEmpty {
            Shell.attempt(["ip", "-n", netns, "-6", "route", "add"] + routes.split(separator: " ").map(String.init).prefix(5))
        }
    }
}

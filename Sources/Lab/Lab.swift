import ConfigFormats
import NodeFiles
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Builds, describes and removes the lab: two nodes and three pods in network namespaces,
/// wired by the real CNI reference plugins, with node file trees netdoctor can read.
public struct Lab: Sendable {
    public var plan: LabPlan
    /// Where the CNI reference plugins are installed (Debian's containernetworking-plugins).
    public static let pluginDirectory = "/usr/lib/cni"
    static let stateFile = LabPlan.stateDirectory + "/state.json"

    public init(plan: LabPlan) { self.plan = plan }

    /// The lab that is up, from its state file; nil when there is none.
    public static func current() -> (lab: Lab, state: LabState)? {
        guard let text = LabFiles.read(stateFile), let state = LabState(json: text),
            let topology = LabPlan.Topology(rawValue: state.topology)
        else { return nil }
        var plan = LabPlan(
            topology: topology, family: LabPlan.Family(rawValue: state.family) ?? .ipv4, prefix: state.prefix,
            extraPods: state.extraPods, sameNamePods: state.sameNamePods)
        plan.ciliumRelease = state.ciliumRelease
        return (Lab(plan: plan), state)
    }

    // MARK: up

    /// Builds the lab; an existing one is removed first. `netdoctorPath` is the product binary the
    /// lab's agents run (`agents`); the lab's own processes (pod-a's HTTP server, the Services'
    /// backends, the calico plugin) run this binary, netdoctor-lab.
    /// `proxy`: also the lab's Services, programmed as kube-proxy does in that mode.
    /// `extraServices`: that many more Services of three (unanswering) endpoints each in the rules,
    /// a node of many Services for benchmarks.
    /// `nodeLocalDNS`: NodeLocal DNSCache on each node too (with --proxy iptables).
    /// `policyEngine`: whose NetworkPolicy chains the calico topology's nodes carry.
    /// `kubeProxyRelease`: whose /configz shape kube-proxy's stand-in serves (LabServer.configz).
    public func up(
        netdoctorPath: String, agents: Bool = false, proxy: LabServices.Mode? = nil, extraServices: Int = 0,
        nodeLocalDNS: Bool = false, policyEngine: LabPolicyEngine = .calico, watch: Bool = false,
        kubeProxyRelease: LabServer.KubeProxyRelease = .current
    ) throws(LabError) -> LabState {
        try Self.checkPrerequisites()
        if let existing = Self.current() { existing.lab.down(state: existing.state) }
        Self.removeNamespaces(prefix: plan.prefix)
        var state = LabState(topology: plan.topology.rawValue, prefix: plan.prefix, serverPID: nil, faults: [])
        state.family = plan.family.rawValue
        state.extraPods = plan.extraPodCount
        state.sameNamePods = plan.hasSameNamePods
        state.ciliumRelease = plan.ciliumRelease
        do {
            try buildNodes()
            try wireNodes()
            for node in plan.nodes { try writeNodeFiles(node) }
            try startRuntimes(state: &state)
            try save(state)
            for pod in plan.pods { try runPod(pod, state: &state) }
            if plan.topology == .cilium {
                try programCiliumDatapath(state: state)
                state.extraServices = extraServices
                try startCiliumServices(state: &state)
            }
            // The lab's policy engines write IPv4 chains: an IPv6-only calico lab has none.
            if plan.topology == .calico, plan.family.hasIPv4 { try programPolicyEngine(policyEngine, state: &state) }
            if plan.family.hasIPv6 { waitForDuplicateAddressDetection(state: state) }
            state.serverPID = try startServer(state: state)
            state.extraServices = extraServices
            state.kubeProxyRelease = kubeProxyRelease.rawValue
            if let proxy { try startServices(mode: proxy, state: &state) }
            if nodeLocalDNS { try startNodeLocalDNS(state: &state) }
            if agents { state.agentPIDs = try startAgents(netdoctorPath: netdoctorPath, watch: watch, withServices: proxy != nil) }
            try save(state)
        } catch {
            down(state: state)
            throw error
        }
        return state
    }

    static func checkPrerequisites() throws(LabError) {
        guard getuid() == 0 else { throw LabError("the lab creates network namespaces: run as root") }
        for tool in ["ip", "bridge", "iptables", "sysctl", "containerd", "runc", "ctr", "nsenter", "unshare", "tar", "sha256sum"]
        where Shell.find(tool) == nil {
            throw LabError("\(tool) is not installed (run scripts/setup)")
        }
        for plugin in ["bridge", "ptp", "host-local", "portmap", "loopback"]
        where NodeRoot("/").status("\(pluginDirectory)/\(plugin)")?.isExecutable != true {
            throw LabError("the CNI plugin \(plugin) is not in \(pluginDirectory) (install containernetworking-plugins)")
        }
    }

    func buildNodes() throws(LabError) {
        for node in plan.nodes {
            try Shell.run(["ip", "netns", "add", node.namespace])
            try Shell.run(["ip", "-n", node.namespace, "link", "set", "lo", "up"])
            try Shell.inNamespace(node.namespace, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            // What flannel and the bridge plugin turn on for IPv6 pods. With forwarding on, the
            // kernel ignores router advertisements unless accept_ra is 2: set so on the uplink,
            // as a node that learns its default route by RA must.
            if plan.family.hasIPv6 {
                try Shell.inNamespace(node.namespace, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
            }
        }
        // The underlay: one veth pair, eth0 on each node, like two hosts on a switch.
        let (n1, n2) = (plan.nodes[0], plan.nodes[1])
        try Shell.run([
            "ip", "-n", n1.namespace, "link", "add", "eth0", "mtu", String(LabPlan.underlayMTU), "type", "veth",
            "peer", "name", "eth0", "netns", n2.namespace, "mtu", String(LabPlan.underlayMTU),
        ])
        for node in plan.nodes {
            if plan.family.hasIPv4 {
                try Shell.run(["ip", "-n", node.namespace, "addr", "add", "\(node.underlayAddress)/24", "dev", "eth0"])
            }
            if plan.family.hasIPv6 {
                try Shell.inNamespace(node.namespace, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_ra=2"])
                // nodad: the underlay is usable at once (a real node's DAD finished long ago).
                try Shell.run(["ip", "-n", node.namespace, "addr", "add", "\(node.underlayAddress6)/64", "dev", "eth0", "nodad"])
            }
            try Shell.run(["ip", "-n", node.namespace, "link", "set", "eth0", "up"])
        }
    }

    /// How pod traffic crosses between nodes.
    func wireNodes() throws(LabError) {
        for node in plan.nodes {
            let remote = plan.nodes.first { $0.name != node.name }!
            switch plan.topology {
            case .overlay:
                if plan.family.hasIPv4 {
                    try wireFlannel(
                        node, device: "flannel.1", local: (node.underlayAddress, node.vtepAddress, 32, node.vtepMAC),
                        remote: (remote.underlayAddress, remote.vtepAddress, remote.podSubnet, remote.vtepMAC))
                }
                if plan.family.hasIPv6 {
                    try wireFlannel(
                        node, device: LabPlan.vxlanDevice6, local: (node.underlayAddress6, node.vtepAddress6, 128, node.vtepMAC6),
                        remote: (remote.underlayAddress6, remote.vtepAddress6, remote.podSubnet6, remote.vtepMAC6))
                }
            case .routed:
                if plan.family.hasIPv4 {
                    try Shell.run([
                        "ip", "-n", node.namespace, "route", "add", remote.podSubnet, "via", remote.underlayAddress, "dev", "eth0",
                    ])
                }
                if plan.family.hasIPv6 {
                    try Shell.run([
                        "ip", "-n", node.namespace, "route", "add", remote.podSubnet6, "via", remote.underlayAddress6, "dev", "eth0",
                    ])
                }
            case .calico:
                try wireCalicoNode(node, remote: remote)
            case .cilium:
                try wireCiliumNode(node, remote: remote)
            }
        }
    }

    /// As flanneld programs a family: its VXLAN device (flannel.1, or flannel-v6.1 over the IPv6
    /// underlay) with the subnet's first address as a host address, a route to the remote subnet
    /// via the remote VTEP's address onlink, a permanent neighbour for that address with the
    /// remote VTEP's MAC, and an FDB entry sending that MAC to the remote node.
    /// `underlayDevice`: the interface flanneld bound the device to (its --iface).
    func wireFlannel(
        _ node: LabPlan.Node, device: String, local: (underlay: String, vtep: String, length: Int, mac: String),
        remote: (underlay: String, vtep: String, subnet: String, mac: String), underlayDevice: String = "eth0"
    ) throws(LabError) {
        let ns = node.namespace
        try Shell.run([
            "ip", "-n", ns, "link", "add", device, "address", local.mac,
            "mtu", String(local.length == 128 ? LabPlan.overlayMTU6 : LabPlan.overlayMTU), "type", "vxlan",
            "id", "1", "local", local.underlay, "dev", underlayDevice, "dstport", String(LabPlan.vxlanPort), "nolearning",
        ])
        try Shell.run(
            ["ip", "-n", ns, "addr", "add", "\(local.vtep)/\(local.length)", "dev", device] + (local.length == 128 ? ["nodad"] : []))
        try Shell.run(["ip", "-n", ns, "link", "set", device, "up"])
        try Shell.run(["ip", "-n", ns, "route", "add", remote.subnet, "via", remote.vtep, "dev", device, "onlink"])
        try Shell.run(["ip", "-n", ns, "neigh", "add", remote.vtep, "lladdr", remote.mac, "dev", device, "nud", "permanent"])
        try Shell.run(["bridge", "-n", ns, "fdb", "append", remote.mac, "dev", device, "dst", remote.underlay])
    }

    /// The node's file tree: kubelet config, the conf dir, the plugins, flannel's subnet.env
    /// (the runtime's config is written by NodeRuntime); what --root points at.
    func writeNodeFiles(_ node: LabPlan.Node) throws(LabError) {
        let root = plan.nodeRoot(node)
        try LabFiles.write(
            "\(root)/var/lib/kubelet/config.yaml",
            """
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            cgroupDriver: cgroupfs
            clusterDNS:
            - \(LabPlan.clusterDNS)
            clusterDomain: cluster.local
            containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
            podCIDR: \(node.podSubnet)
            maxPods: \(plan.maxPods)

            """)
        // The node's own resolver (the kubelet's resolvConf: what dnsPolicy Default pods get).
        try LabFiles.write("\(root)/etc/resolv.conf", "nameserver 192.0.2.53\nsearch lab.example\n")
        try LabFiles.write("\(root)/etc/cni/net.d/\(plan.configFileName)", plan.networkConfig(for: node))
        if plan.topology == .overlay {
            // As flanneld writes it: the IPv6 keys in a dual-stack or IPv6-only cluster.
            var env = plan.family.hasIPv4 ? ["FLANNEL_NETWORK=10.244.0.0/16", "FLANNEL_SUBNET=\(node.podGateway)/24"] : []
            if plan.family.hasIPv6 { env += ["FLANNEL_IPV6_NETWORK=fd00:10:244::/56", "FLANNEL_IPV6_SUBNET=\(node.podGateway6)/64"] }
            env += ["FLANNEL_MTU=\(plan.overlayPodMTU)", "FLANNEL_IPMASQ=true"]
            try LabFiles.write("\(root)/run/flannel/subnet.env", env.joined(separator: "\n") + "\n")
        }
        FileTree.makeDirectories("\(root)/opt/cni/bin")
        for entry in (try? NodeRoot("/").list(Self.pluginDirectory)) ?? [] where entry.status?.isRegularFile == true {
            guard FileTree.linkOrCopy(entry.nodePath, to: "\(root)/opt/cni/bin/\(entry.name)") else {
                throw LabError("cannot install \(entry.name) into \(root)/opt/cni/bin")
            }
        }
        FileTree.makeDirectories("\(root)/var/lib/cni/results")
        if plan.topology == .calico { try writeCalicoFiles(node) }
        if plan.topology == .cilium { try writeCiliumFiles(node) }
    }

    /// A containerd per node, started side by side, with the pause image imported into each.
    func startRuntimes(state: inout LabState) throws(LabError) {
        state.createdMountPoints = NodeRuntime(plan: plan, node: plan.nodes[0]).missingMountPoints()
        for node in plan.nodes {
            let pid = try NodeRuntime(plan: plan, node: node).start()
            state.runtimePIDs[node.name] = pid
            state.runtimeMountNamespaces[node.name] = NodeRuntime.mountNamespace(of: pid)
        }
        let archive = try PauseImage.build(in: LabPlan.stateDirectory)
        for node in plan.nodes { try PauseImage.importArchive(archive, socket: NodeRuntime(plan: plan, node: node).endpoint.socketPath) }
    }

    /// The kubelet's part: RunPodSandbox on the pod's node. The runtime makes the namespace,
    /// calls the CNI plugins and writes libcni's cache itself.
    func runPod(_ pod: LabPlan.Pod, state: inout LabState) throws(LabError) {
        guard let node = plan.node(pod.node) else { return }
        state.pods[pod.key] = try NodeRuntime(plan: plan, node: node).run(pod)
        try save(state)
    }

    func startServer(state: LabState) throws(LabError) -> Int32? {
        guard let pod = plan.pods.first(where: \.serves), let netns = state.pods[pod.key]?.netnsName else { return nil }
        guard let ip = Shell.find("ip"),
            let pid = ChildProcess.spawnDetached(
                ip, arguments: ["netns", "exec", netns, Executable.path, "lab", "serve", "--port", "80"],
                environment: Shell.environment)
        else {
            throw LabError("cannot start the HTTP server in \(pod.name)")
        }
        // Wait until it listens, so that a test right after `lab up` finds it.
        for _ in 0..<50 {
            if let out = try? Shell.run(["ip", "netns", "exec", netns, "ss", "-Hltn", "sport", "= :80"]), !out.isEmpty { return pid }
            usleep(20_000)
        }
        return pid
    }

    /// node2 advertises itself as the underlay's IPv6 router (LabRouterAdvertiser): node1 takes
    /// its IPv6 default route from the advertisements, as a SLAAC host does. Only for the fault
    /// that needs it: otherwise a missing pod route would fall through to node2, which holds
    /// the pods, and hide the fault. `namespace`: another router's (uplinkRouter).
    func startRouterAdvertiser(namespace: String? = nil) throws(LabError) -> Int32 {
        guard let ip = Shell.find("ip"),
            let pid = ChildProcess.spawnDetached(
                ip,
                arguments: [
                    "netns", "exec", namespace ?? plan.nodes[1].namespace, Executable.path, "lab", "serve",
                    "--router-advertisements", "eth0",
                ], environment: Shell.environment)
        else {
            throw LabError("cannot start the router advertisements")
        }
        return pid
    }

    /// The namespace of node1's uplink router (lab break NO_ROUTE --family 6).
    var routerNamespace: String { "\(plan.prefix)-router" }

    /// A router on a second uplink of node1 (eth1), as a real node's network has one: it
    /// advertises itself (node1 learns its IPv6 default route from it by the kernel's own RA
    /// handling: proto ra, an expiry) and knows nothing of the pods, so what falls through to it
    /// is lost beyond the node, as at a real router. Waits until node1 has the route.
    func startUplinkRouter(state: inout LabState) throws(LabError) {
        let n1 = plan.nodes[0].namespace, router = routerNamespace
        try Shell.run(["ip", "netns", "add", router])
        try Shell.run(["ip", "-n", router, "link", "set", "lo", "up"])
        try Shell.run(["ip", "-n", n1, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", router])
        try Shell.inNamespace(router, ["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
        // node1 forwards, so it takes the advertisements only with accept_ra=2, as it should be set.
        try Shell.inNamespace(n1, ["sysctl", "-q", "-w", "net.ipv6.conf.eth1.accept_ra=2"])
        try Shell.run(["ip", "-n", router, "link", "set", "eth0", "up"])
        try Shell.run(["ip", "-n", n1, "link", "set", "eth1", "up"])
        if state.routerPID == nil { state.routerPID = try startRouterAdvertiser(namespace: router) }
        for _ in 0..<100 {
            if ((try? Shell.run(["ip", "-n", n1, "-6", "route", "show", "default", "proto", "ra"])) ?? "").contains("via") { return }
            usleep(50_000)
        }
        throw LabError("node1 learned no default route from its uplink router's advertisements")
    }

    /// Until no address of a node or pod is tentative (at most 5 s): a gateway still in duplicate
    /// address detection answers no neighbour solicitation, and a trace right after `lab up`
    /// would find that instead of a healthy lab.
    func waitForDuplicateAddressDetection(state: LabState) {
        let namespaces = plan.nodes.map(\.namespace) + state.pods.values.map(\.netnsName)
        for _ in 0..<100 {
            let tentative = namespaces.contains { !((try? Shell.run(["ip", "-n", $0, "-6", "addr", "show", "tentative"])) ?? "").isEmpty }
            if !tentative { return }
            usleep(50_000)
        }
    }

    func save(_ state: LabState) throws(LabError) {
        try LabFiles.write(Self.stateFile, state.json)
    }

    // MARK: down

    /// Removes everything the lab made: its processes, its pods (through their runtime, as the
    /// kubelet would), the runtimes and their shims, its namespaces (and with them every link,
    /// route and firewall rule inside), its files and the mount points it had to create.
    public func down(state: LabState?) {
        // A recorded process may have ended long ago and its number gone to another program
        // (a test running beside the lab): only one still inside a lab namespace is the lab's.
        let ours = labNamespaceIdentities(state)
        for pid in [state?.serverPID, state?.routerPID].compactMap({ $0 }) + (state?.agentPIDs.values.map { $0 } ?? [])
            + (state?.servicePIDs ?? [])
            + (state?.queueListeners.values.map { $0 } ?? []) where pid > 0 && Self.isInside(pid, ours)
        {
            Self.stop(pid)
        }
        if let state { stopRuntimes(state) }
        Self.killProcesses(inNamespacesWithPrefix: plan.prefix)
        Self.removeNamespaces(prefix: plan.prefix)
        Self.removePins()
        unmountNodeBPF()
        for mountPoint in (state?.createdMountPoints ?? []).reversed() { rmdir(mountPoint) }
        FileTree.remove(LabPlan.stateDirectory)
    }

    /// Each pod removed by its runtime (CNI DEL, namespace unmounted, pause stopped), then the
    /// runtime and anything left in its mount namespace; a pod namespace left behind (its
    /// runtime died) is emptied and deleted.
    func stopRuntimes(_ state: LabState) {
        for pod in plan.pods {
            guard let running = state.pods[pod.key], let node = plan.node(pod.node) else { continue }
            if state.runtimePIDs[node.name].map({ kill($0, 0) == 0 }) == true { NodeRuntime(plan: plan, node: node).remove(running) }
        }
        let ours = labNamespaceIdentities(state)
        for node in plan.nodes {
            if let pid = state.runtimePIDs[node.name], Self.isInside(pid, ours) { Self.stop(pid) }
            if let namespace = state.runtimeMountNamespaces[node.name] {
                for pid in NodeRuntime.processes(inMountNamespace: namespace) { Self.stop(pid) }
            }
        }
        defer { for node in plan.nodes { NodeRuntime(plan: plan, node: node).removeCgroups() } }
        for running in state.pods.values where LabFiles.exists("/run/netns/\(running.netnsName)") {
            for pid in ((try? Shell.run(["ip", "netns", "pids", running.netnsName])) ?? "").split(separator: "\n").compactMap({ Int32($0) })
            {
                kill(pid, SIGKILL)
            }
            Shell.attempt(["ip", "netns", "del", running.netnsName])
        }
    }

    /// The network namespaces the lab made (its nodes', its router's, its pods'), by identity.
    func labNamespaceIdentities(_ state: LabState?) -> Set<NetNamespace.Identity> {
        let paths =
            Self.namespaces(prefix: plan.prefix).map { "/var/run/netns/\($0)" }
            + (state?.pods.values.map { "/var/run/netns/\($0.netnsName)" } ?? [])
        return Set(paths.compactMap(NetNamespace.identity(of:)))
    }

    /// Whether `pid` is a process in one of `namespaces` (read from /proc: a process that is
    /// gone, or another program's, is not).
    static func isInside(_ pid: Int32, _ namespaces: Set<NetNamespace.Identity>) -> Bool {
        NetNamespace.identity(of: "/proc/\(pid)/ns/net").map(namespaces.contains) ?? false
    }

    /// SIGTERM, a moment to finish, then SIGKILL.
    static func stop(_ pid: Int32) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<50 where waitpid(pid, &status, WNOHANG) == 0 && kill(pid, 0) == 0 { usleep(10_000) }
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// Lab namespaces still present.
    public static func namespaces(prefix: String) -> [String] {
        ((try? NodeRoot("/").list("/var/run/netns")) ?? []).map(\.name).filter { $0.hasPrefix(prefix + "-") }
    }

    static func removeNamespaces(prefix: String) {
        for name in namespaces(prefix: prefix) { Shell.attempt(["ip", "netns", "del", name]) }
    }

    /// Any process still running inside a lab namespace (the server, a stray `lab exec`).
    static func killProcesses(inNamespacesWithPrefix prefix: String) {
        for name in namespaces(prefix: prefix) {
            let pids = (try? Shell.run(["ip", "netns", "pids", name])) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
    }
}

/// What `lab up` leaves in the state file: enough to describe and remove the lab.
public struct LabState: Sendable, Equatable {
    public var topology: String
    /// LabPlan.Family's raw value: "4", "dual" or "6".
    public var family = LabPlan.Family.ipv4.rawValue
    public var prefix: String
    public var serverPID: Int32?
    /// node2's router advertisements (labs with IPv6 pods).
    public var routerPID: Int32?
    public var faults: [String]
    /// `netdoctor agent` on each node, by node name (lab up --agents).
    public var agentPIDs: [String: Int32] = [:]
    /// Each node's containerd, and the mount namespace it and its shims run in.
    public var runtimePIDs: [String: Int32] = [:]
    public var runtimeMountNamespaces: [String: String] = [:]
    /// The pods as their runtime made them, by the lab's key (LabPlan.Pod.key).
    public var pods: [String: LabPodState] = [:]
    /// Host directories made as mount points for the runtimes (removed by down).
    public var createdMountPoints: [String] = []
    /// Pods beyond pod-a, pod-b and pod-c (lab up --extra-pods).
    public var extraPods = 0
    /// web-0 in two namespaces on node1 (lab up --same-name-pods).
    public var sameNamePods = false
    /// The proxy mode the lab's Services are programmed in (lab up --proxy); nil: no Services.
    public var proxy: String?
    /// The Services' backends in their pods.
    public var servicePIDs: [Int32] = []
    /// Services beyond the lab's own (lab up --extra-services).
    public var extraServices = 0
    /// NodeLocal DNSCache's stand-in runs on each node (lab up --nodelocaldns).
    public var nodeLocalDNS = false
    /// The kube-proxy release whose /configz the stand-in serves (lab up --kube-proxy-release).
    public var kubeProxyRelease = LabServer.KubeProxyRelease.current.rawValue
    /// The calico topology's policy engine (LabPolicyEngine), and the NetworkPolicies a fault added.
    public var policyEngine: String?
    public var policies: [String] = []
    /// kube-network-policies' stand-in listener on each node, by node name.
    public var queueListeners: [String: Int32] = [:]
    /// The cilium topology's map layouts: Cilium 1.15's or 1.18's (LabPlan.ciliumRelease).
    public var ciliumRelease = 18
    /// The lab's Services are in Cilium's load-balancer maps (the cilium topology).
    public var ciliumServices = false

    public var json: String {
        JSONWriter.write(
            .fields([
                "topology": .string(topology), "family": .string(family), "prefix": .string(prefix),
                "serverPID": .int(serverPID.map(Int.init)), "routerPID": .int(routerPID.map(Int.init)), "faults": .texts(faults),
                "agents": Self.pidFields(agentPIDs), "runtimes": Self.pidFields(runtimePIDs),
                "runtimeMountNamespaces": .fields(runtimeMountNamespaces.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }),
                "pods": .fields(
                    pods.sorted { $0.key < $1.key }.map {
                        ($0.key, .fields(["sandboxID": .string($0.value.sandboxID), "netns": .string($0.value.netnsPath)]))
                    }),
                "createdMountPoints": .texts(createdMountPoints), "extraPods": .int(extraPods), "sameNamePods": .bool(sameNamePods),
                "proxy": .text(proxy), "servicePIDs": .array(servicePIDs.map { .int(Int($0)) }),
                "extraServices": .int(extraServices), "nodeLocalDNS": .bool(nodeLocalDNS), "kubeProxyRelease": .string(kubeProxyRelease),
                "policyEngine": .text(policyEngine), "policies": .texts(policies),
                "queueListeners": Self.pidFields(queueListeners), "ciliumRelease": .int(ciliumRelease),
                "ciliumServices": .bool(ciliumServices),
            ])) + "\n"
    }

    static func pidFields(_ pids: [String: Int32]) -> ConfigValue {
        .fields(pids.sorted { $0.key < $1.key }.map { ($0.key, .int(Int($0.value))) })
    }

    static func pids(_ value: ConfigValue?) -> [String: Int32] {
        var pids: [String: Int32] = [:]
        for member in value?.object?.members ?? [] { if let pid = member.value.int { pids[member.key] = Int32(pid) } }
        return pids
    }

    public init(topology: String, prefix: String, serverPID: Int32?, faults: [String], agentPIDs: [String: Int32] = [:]) {
        self.topology = topology
        self.prefix = prefix
        self.serverPID = serverPID
        self.faults = faults
        self.agentPIDs = agentPIDs
    }

    init?(json: String) {
        guard let value = try? JSONParser.parse(json), let topology = value["topology"]?.string,
            let prefix = value["prefix"]?.string
        else { return nil }
        self.init(
            topology: topology, prefix: prefix, serverPID: value["serverPID"]?.int.map(Int32.init),
            faults: value["faults"]?.array?.compactMap(\.string) ?? [], agentPIDs: Self.pids(value["agents"]))
        runtimePIDs = Self.pids(value["runtimes"])
        family = value["family"]?.string ?? LabPlan.Family.ipv4.rawValue
        routerPID = value["routerPID"]?.int.map(Int32.init)
        extraPods = value["extraPods"]?.int ?? 0
        sameNamePods = value["sameNamePods"]?.bool ?? false
        proxy = value["proxy"]?.string
        extraServices = value["extraServices"]?.int ?? 0
        nodeLocalDNS = value["nodeLocalDNS"]?.bool ?? false
        kubeProxyRelease = value["kubeProxyRelease"]?.string ?? LabServer.KubeProxyRelease.current.rawValue
        policyEngine = value["policyEngine"]?.string
        policies = value["policies"]?.array?.compactMap(\.string) ?? []
        queueListeners = Self.pids(value["queueListeners"])
        ciliumRelease = value["ciliumRelease"]?.int ?? 18
        ciliumServices = value["ciliumServices"]?.bool ?? false
        servicePIDs = value["servicePIDs"]?.array?.compactMap { $0.int.map(Int32.init) } ?? []
        for member in value["runtimeMountNamespaces"]?.object?.members ?? [] { runtimeMountNamespaces[member.key] = member.value.string }
        for member in value["pods"]?.object?.members ?? [] {
            guard let id = member.value["sandboxID"]?.string, let netns = member.value["netns"]?.string else { continue }
            pods[member.key] = LabPodState(sandboxID: id, netnsPath: netns)
        }
        createdMountPoints = value["createdMountPoints"]?.array?.compactMap(\.string) ?? []
    }
}

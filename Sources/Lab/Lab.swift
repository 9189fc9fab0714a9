import ConfigFormats
import NodeFiles

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
              let topology = LabPlan.Topology(rawValue: state.topology) else { return nil }
        return (Lab(plan: LabPlan(topology: topology, prefix: state.prefix)), state)
    }

    // MARK: up

    /// Builds the lab; an existing one is removed first. `netdoctorPath` is the binary that serves
    /// HTTP in pod-a and, with `agents`, runs `netdoctor agent` on each node.
    public func up(netdoctorPath: String, agents: Bool = false) throws(LabError) -> LabState {
        try Self.checkPrerequisites()
        if let existing = Self.current() { existing.lab.down(state: existing.state) }
        Self.removeNamespaces(prefix: plan.prefix)
        var state = LabState(topology: plan.topology.rawValue, prefix: plan.prefix, serverPID: nil, faults: [])
        do {
            try buildNodes()
            try wireNodes()
            for node in plan.nodes { try writeNodeFiles(node) }
            for pod in plan.pods { try addPod(pod) }
            state.serverPID = try startServer(netdoctorPath: netdoctorPath)
            if agents { state.agentPIDs = try startAgents(netdoctorPath: netdoctorPath) }
            try save(state)
        } catch {
            down(state: state)
            throw error
        }
        return state
    }

    static func checkPrerequisites() throws(LabError) {
        guard getuid() == 0 else { throw LabError("the lab creates network namespaces: run as root") }
        for tool in ["ip", "bridge", "iptables", "sysctl"] where Shell.find(tool) == nil {
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
        }
        // The underlay: one veth pair, eth0 on each node, like two hosts on a switch.
        let (n1, n2) = (plan.nodes[0], plan.nodes[1])
        try Shell.run(["ip", "-n", n1.namespace, "link", "add", "eth0", "mtu", String(LabPlan.underlayMTU), "type", "veth",
                       "peer", "name", "eth0", "netns", n2.namespace, "mtu", String(LabPlan.underlayMTU)])
        for node in plan.nodes {
            try Shell.run(["ip", "-n", node.namespace, "addr", "add", "\(node.underlayAddress)/24", "dev", "eth0"])
            try Shell.run(["ip", "-n", node.namespace, "link", "set", "eth0", "up"])
        }
    }

    /// How pod traffic crosses between nodes.
    func wireNodes() throws(LabError) {
        for node in plan.nodes {
            let remote = plan.nodes.first { $0.name != node.name }!
            switch plan.topology {
            case .overlay:
                // As flanneld programs it: flannel.1 with the subnet's .0/32, a route to the remote
                // subnet via its .0 onlink, a permanent neighbour for that .0 with the remote VTEP's
                // MAC, and an FDB entry sending that MAC to the remote node.
                try Shell.run(["ip", "-n", node.namespace, "link", "add", "flannel.1", "address", node.vtepMAC,
                               "mtu", String(LabPlan.overlayMTU), "type", "vxlan", "id", "1", "local", node.underlayAddress,
                               "dev", "eth0", "dstport", String(LabPlan.vxlanPort), "nolearning"])
                try Shell.run(["ip", "-n", node.namespace, "addr", "add", "\(node.vtepAddress)/32", "dev", "flannel.1"])
                try Shell.run(["ip", "-n", node.namespace, "link", "set", "flannel.1", "up"])
                try Shell.run(["ip", "-n", node.namespace, "route", "add", remote.podSubnet, "via", remote.vtepAddress,
                               "dev", "flannel.1", "onlink"])
                try Shell.run(["ip", "-n", node.namespace, "neigh", "add", remote.vtepAddress, "lladdr", remote.vtepMAC,
                               "dev", "flannel.1", "nud", "permanent"])
                try Shell.run(["bridge", "-n", node.namespace, "fdb", "append", remote.vtepMAC, "dev", "flannel.1",
                               "dst", remote.underlayAddress])
            case .routed:
                try Shell.run(["ip", "-n", node.namespace, "route", "add", remote.podSubnet, "via", remote.underlayAddress, "dev", "eth0"])
            }
        }
    }

    /// The node's file tree: runtime and kubelet config, the conf dir, the plugins, flannel's
    /// subnet.env; what --root points at.
    func writeNodeFiles(_ node: LabPlan.Node) throws(LabError) {
        let root = plan.nodeRoot(node)
        try LabFiles.write("\(root)/etc/containerd/config.toml", """
        version = 2
        [plugins."io.containerd.grpc.v1.cri"]
          sandbox_image = "registry.k8s.io/pause:3.10"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
          [plugins."io.containerd.grpc.v1.cri".cni]
            bin_dir = "/opt/cni/bin"
            conf_dir = "/etc/cni/net.d"
            max_conf_num = 1

        """)
        try LabFiles.write("\(root)/var/lib/kubelet/config.yaml", """
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        cgroupDriver: systemd
        clusterDNS:
        - 10.96.0.10
        clusterDomain: cluster.local
        containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
        podCIDR: \(node.podSubnet)
        maxPods: 110

        """)
        try LabFiles.write("\(root)/etc/cni/net.d/\(plan.configFileName)", plan.networkConfig(for: node))
        if plan.topology == .overlay {
            try LabFiles.write("\(root)/run/flannel/subnet.env", """
            FLANNEL_NETWORK=10.244.0.0/16
            FLANNEL_SUBNET=\(node.podGateway)/24
            FLANNEL_MTU=\(LabPlan.overlayMTU)
            FLANNEL_IPMASQ=true

            """)
        }
        FileTree.makeDirectories("\(root)/opt/cni/bin")
        for entry in (try? NodeRoot("/").list(Self.pluginDirectory)) ?? [] where entry.status?.isRegularFile == true {
            guard FileTree.linkOrCopy(entry.nodePath, to: "\(root)/opt/cni/bin/\(entry.name)") else {
                throw LabError("cannot install \(entry.name) into \(root)/opt/cni/bin")
            }
        }
        FileTree.makeDirectories("\(root)/var/lib/cni/results")
    }

    func addPod(_ pod: LabPlan.Pod) throws(LabError) {
        guard let node = plan.node(pod.node) else { return }
        try Shell.run(["ip", "netns", "add", pod.namespace])
        try Shell.run(["ip", "-n", pod.namespace, "link", "set", "lo", "up"])
        let runtime = RuntimeEmulator(plan: plan, node: node, binDirectory: "\(plan.nodeRoot(node))/opt/cni/bin")
        _ = try runtime.add(pod)
    }

    func startServer(netdoctorPath: String) throws(LabError) -> Int32? {
        guard let pod = plan.pods.first(where: \.serves) else { return nil }
        guard let ip = Shell.find("ip"),
              let pid = ChildProcess.spawnDetached(ip, arguments: ["netns", "exec", pod.namespace, netdoctorPath, "lab", "serve", "--port", "80"],
                                                   environment: Shell.environment) else {
            throw LabError("cannot start the HTTP server in \(pod.name)")
        }
        // Wait until it listens, so that a test right after `lab up` finds it.
        for _ in 0..<50 {
            if let out = try? Shell.run(["ip", "netns", "exec", pod.namespace, "ss", "-Hltn", "sport", "= :80"]), !out.isEmpty { return pid }
            usleep(20_000)
        }
        return pid
    }

    func save(_ state: LabState) throws(LabError) {
        try LabFiles.write(Self.stateFile, state.json)
    }

    // MARK: down

    /// Removes everything the lab made: its processes, its namespaces (and with them every link,
    /// route and firewall rule inside), its files.
    public func down(state: LabState?) {
        for pid in [state?.serverPID].compactMap({ $0 }) + (state?.agentPIDs.values.map { $0 } ?? []) where pid > 0 {
            Self.stop(pid)
        }
        Self.killProcesses(inNamespacesWithPrefix: plan.prefix)
        Self.removeNamespaces(prefix: plan.prefix)
        FileTree.remove(LabPlan.stateDirectory)
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
    public var prefix: String
    public var serverPID: Int32?
    public var faults: [String]
    /// `netdoctor agent` on each node, by node name (lab up --agents).
    public var agentPIDs: [String: Int32] = [:]

    public var json: String {
        JSONWriter.write(.fields(["topology": .string(topology), "prefix": .string(prefix),
                                  "serverPID": .int(serverPID.map(Int.init)), "faults": .texts(faults),
                                  "agents": .fields(agentPIDs.sorted { $0.key < $1.key }.map { ($0.key, .int(Int($0.value))) })])) + "\n"
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
              let prefix = value["prefix"]?.string else { return nil }
        var agents: [String: Int32] = [:]
        for member in value["agents"]?.object?.members ?? [] { if let pid = member.value.int { agents[member.key] = Int32(pid) } }
        self.init(topology: topology, prefix: prefix, serverPID: value["serverPID"]?.int.map(Int32.init),
                  faults: value["faults"]?.array?.compactMap(\.string) ?? [], agentPIDs: agents)
    }
}

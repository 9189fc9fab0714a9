import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension Lab {
    /// The token the lab's agents require; `lab exec` hands its path to commands it runs.
    public static let agentTokenPath = LabPlan.stateDirectory + "/agent-token"

    /// Where an agent's JSON log lines go.
    public static func agentLogPath(_ node: String) -> String { LabPlan.stateDirectory + "/agent-\(node).log" }

    /// `netdoctor agent` in each node's namespace, on its underlay address and the default port,
    /// with the node's file tree as --root: what the DaemonSet does on a real cluster.
    /// The lab's watch interval (agent --watch), short so that tests see incidents in seconds.
    public static let watchIntervalSeconds = 2

    /// Where a watching agent keeps its incidents.
    public static func incidentsPath(_ node: String) -> String { LabPlan.stateDirectory + "/incidents-\(node).json" }

    /// `withServices`: the watchers also look up a name in the cluster DNS and connect to
    /// default/web each round (lab up --proxy).
    func startAgents(netdoctorPath: String, watch: Bool = false, withServices: Bool = false) throws(LabError) -> [String: Int32] {
        var random = SystemRandomNumberGenerator()
        let token = (0..<4).map { _ in String(random.next() as UInt64, radix: 16) }.joined()
        try LabFiles.write(Self.agentTokenPath, token + "\n")
        chmod(Self.agentTokenPath, 0o600)
        guard let ip = Shell.find("ip") else { throw LabError("ip is not installed") }
        var pids: [String: Int32] = [:]
        for node in plan.nodes {
            let arguments =
                [
                    "netns", "exec", node.namespace, netdoctorPath, "agent", "--root", plan.nodeRoot(node),
                    "--listen", listenAddress(node), "--token-file", Self.agentTokenPath, "--node-name", node.name,
                ]
                + (watch
                    ? [
                        "--watch", "--watch-interval", String(Self.watchIntervalSeconds), "--watch-timeout", "500",
                        "--incidents-file", Self.incidentsPath(node.name),
                    ]
                        + (withServices ? ["--watch-dns", "web", "--watch-service", "default/web"] : []) : [])
            guard
                let pid = ChildProcess.spawnDetached(
                    ip, arguments: arguments, environment: Shell.environment, log: Self.agentLogPath(node.name))
            else {
                throw LabError("cannot start the agent on \(node.name)")
            }
            pids[node.name] = pid
        }
        // Wait until both listen, so that a trace right after `lab up` finds them.
        for node in plan.nodes {
            var listening = false
            for _ in 0..<250 where !listening {
                let out =
                    (try? Shell.run(["ip", "netns", "exec", node.namespace, "ss", "-Hltn", "sport", "= :\(LabPlan.agentPort)"])) ?? ""
                listening = !out.isEmpty
                if !listening { usleep(20_000) }
            }
            if !listening { throw LabError("the agent on \(node.name) did not start listening (see \(Self.agentLogPath(node.name)))") }
        }
        return pids
    }

    /// The node's underlay addresses, as the DaemonSet's status.hostIPs gives them: a trace's
    /// IPv6 path finds the agent at the node's IPv6 address, its IPv4 one at the other.
    func listenAddress(_ node: LabPlan.Node) -> String {
        switch plan.family {
        case .ipv4: "\(node.underlayAddress):\(LabPlan.agentPort)"
        case .dual: "\(node.underlayAddress),\(node.underlayAddress6)"
        case .ipv6: node.underlayAddress6
        }
    }
}

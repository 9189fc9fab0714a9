import AgentClient
import ArgumentParser
import Diagnosis
import PathMTU
import Session
import Trace

struct CheckCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "The whole node's pod network judged at once, including what breaks before a pod has a network.",
        discussion: """
            Reads, without being told where to look and without sending anything: everything detect-cni \
            finds; the runtime's NetworkReady condition over CRI; every pod of the node with the checks \
            inspect runs for one; host-local's pools of the active network (flannel's through \
            subnet.env) with their fill, leaked reservations and size against the kubelet's maxPods; \
            the CNI bridge's address against the gateway the bridge plugin would set; br_netfilter \
            where pods are bridge ports and kube-proxy needs it; the conntrack and neighbour tables \
            against their limits; the ephemeral port range against the NodePorts; and kube-proxy's \
            state in brief (details in `services` and `dns`); the sandboxes that got no network in the \
            last hour, by cause, from the journal (the node's, or its persistent journal under --root) \
            or the runtime's log file.
            With --probe it also sends: the MTU sweep from the node's first pod (as `mtu-probe POD`), one \
            lookup of kubernetes.default from that pod (as `dns POD`), and GET /healthz to each peer \
            node's agent; without it nothing is sent.
            With --node (or --agent), that node's agent (GET /v1/check) judges its own node and this \
            command shows its report.
            Exit status: 0 healthy, 1 a problem of severity error, 2 bad input, 3 not allowed or no agent answered.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp(
            "The container runtime's log file on this machine, when it does not log to the journal (k3s's and rke2's are found by themselves).",
            valueName: "file"), completion: .file())
    var runtimeLog: String?

    @Option(
        help: ArgumentHelp(
            "Ask this node's agent instead (its address or a name that resolves to it; port \(AgentDefaults.port)).", valueName: "node"))
    var node: String?

    @Option(help: ArgumentHelp("The agent to ask, when not at the node's address and port.", valueName: "addr:port"))
    var agent: String?

    @Option(help: ArgumentHelp("The agents' bearer token (env NETDOCTOR_TOKEN_FILE).", valueName: "file"), completion: .file())
    var tokenFile: String?

    @Flag(
        help: ArgumentHelp(
            "Also probe: the MTU sweep and a DNS lookup of kubernetes.default from the node's first pod, and the health of each peer node's agent (with a token)."
        ))
    var probe = false

    @Option(help: ArgumentHelp("With --probe: how long each MTU probe waits for its answer, in milliseconds.", valueName: "ms"))
    var probeTimeout: Int32 = 300

    func validate() throws {
        if let agent, AgentDefaults.endpoint(agent) == nil { throw ValidationError("--agent wants ADDR:PORT, not \(agent)") }
        if runtimeLog != nil, node != nil || agent != nil {
            throw ValidationError("--runtime-log is this node's: not with --node or --agent")
        }
        if probe, node != nil || agent != nil {
            throw ValidationError(
                "--probe probes from this node: not with --node or --agent (run it on that node, or ask its agent without it)")
        }
        if !(50...10_000).contains(probeTimeout) { throw ValidationError("--probe-timeout must be between 50 and 10000 ms") }
    }

    func run() throws {
        guard node != nil || agent != nil else { return try runOnSession() }
        let (host, port) = agent.flatMap { AgentDefaults.endpoint($0) } ?? (node ?? "", AgentDefaults.port)
        let answer = try askAgent(host: host, port: port, path: "/v1/check", tokenFile: tokenFile, doing: "check")
        guard let report = ForwardedReport(agent: "\(host):\(port)", answer: answer) else {
            throw CLIError(.environment, "check: the agent at \(host):\(port) answered with something that is not a report")
        }
        global.emit(report)
    }

    /// Every pod, none named: the runtime is asked for the status of only the sandboxes its
    /// cache cannot place (PodDirectory.statusWanted).
    var podsNamed: [String]? { [] }
    var doing: String { "check" }
    /// The peers' agents, asked for their health only with --probe.
    func agentLocator() -> AgentLocator? {
        probe ? AgentOptions.locator(tokenFile: tokenFile, explicit: nil, tlsCA: nil, serverName: nil) : nil
    }
    func report(_ session: NodeSession) throws -> any Report {
        session.check(runtimeLog: runtimeLog, probing: probe ? CheckProbing(prober: MTUProber(timeoutMilliseconds: probeTimeout)) : nil)
    }
}

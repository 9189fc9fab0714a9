import ArgumentParser
import Diagnosis
import NetAddress
import Session
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension TraceProtocol: ExpressibleByArgument {}
extension IPFamily: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var allValueStrings: [String] { ["4", "6"] }
}

/// Set by SIGINT, SIGTERM or SIGHUP during `trace --trace-rules`.
nonisolated(unsafe) var traceStopRequested: sig_atomic_t = 0

struct TraceCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Can SRC reach DST, and if not, where and why.",
        discussion: """
            SRC is a pod of this node; DST a pod of this node or any IP. For a pod on another node, \
            that node's agent (netdoctor agent, found at the node's address from the overlay's FDB entry \
            or the route's gateway, or at --agent) watches the remote half at the same moment: its \
            hops, checks and firewall counters join the verdict. Without an agent the view ends at \
            this node, and the report says so. The path is built from the kernel's state \
            (routes, veth peers, bridge, overlay device and its forwarding entry, underlay), each hop is \
            checked (link state, routes both ways, forwarding, neighbours, bridge membership, overlay FDB, \
            duplicate addresses), then a probe (ICMP echo, or with --port a TCP SYN or UDP datagram) is \
            sent from SRC while libpcap captures at every hop and iptables counters are read before and \
            after. The verdict names the hop and the reason, with evidence. Between dual-stack pods the \
            trace runs once per family, each with its own verdict (--family narrows it); an IP \
            destination is traced in its own family.
            Exit status: 0 reachable, 1 not (or a problem found), 2 unknown pod, 3 missing privileges.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Remote node") var agents: AgentOptions

    @Argument(help: ArgumentHelp("The source pod (NAME, NAMESPACE/NAME or IP).", valueName: "src"))
    var source: String

    @Argument(help: ArgumentHelp("The destination: a pod or an IP.", valueName: "dst"))
    var destination: String

    @Option(help: "Probe this port (TCP by default when given).")
    var port: UInt16?

    @Option(name: .customLong("protocol"), help: "icmp (default), tcp (default with --port; port 80 without one) or udp (needs --port).")
    var proto: TraceProtocol?

    @Option(help: ArgumentHelp("How long the probe waits for an answer, in milliseconds.", valueName: "ms"))
    var timeout: Int32 = 1000

    @Option(help: ArgumentHelp("Trace only this family (default: every family both ends have).", valueName: "4|6"))
    var family: IPFamily?

    @Flag(
        help:
            "Trace the request through nf_tables (nftrace) in each namespace on this node's part of the path, and list every rule it met with its table, chain, handle, verdict and comment. Adds a table of netdoctor's own (netdoctor-trace-PID-N) for the probe and removes it after, also on Ctrl-C; without this flag trace changes nothing."
    )
    var traceRules = false

    @Flag(
        help:
            "Ask the kernel why it dropped the probe: a BPF program of netdoctor's own on the skb:kfree_skb tracepoint, filtered in the kernel to the probe's packets, reports each drop's reason (named from the kernel's BTF), function, interface and namespace. Loaded for the probe only and removed after; it lives only as this process's file descriptors, so nothing is left behind even if the run is killed. Needs root, libbpf and a kernel with BTF (5.17+)."
    )
    var dropReasons = false

    func validate() throws {
        guard (50...30_000).contains(timeout) else { throw ValidationError("--timeout must be between 50 and 30000 ms") }
        if proto == .icmp, port != nil { throw ValidationError("--port goes with --protocol tcp or udp") }
        if proto == .udp, port == nil { throw ValidationError("--protocol udp needs --port (the service's port)") }
    }

    var podsNamed: [String]? { [source, destination] }
    var doing: String { "trace" }
    func agentLocator() -> AgentLocator? { agents.locator() }

    func report(_ session: NodeSession) throws -> any Report {
        // The tracing tables come off before the process ends: Ctrl-C (or SIGTERM, SIGHUP) only
        // marks the request, the probe (bounded by --timeout) finishes, the tables are removed,
        // and the process then exits as interrupted.
        if traceRules { for stop in [SIGINT, SIGTERM, SIGHUP] { signal(stop) { _ in traceStopRequested = 1 } } }
        let report: any Report
        do {
            report = try session.trace(
                from: source, to: destination, timeoutMilliseconds: timeout, proto: proto, port: port,
                traceRules: traceRules, dropReasons: dropReasons, family: family)
        } catch {
            if traceStopRequested != 0 { throw ExitCode(130) }
            throw error
        }
        if traceStopRequested != 0 { throw ExitCode(130) }
        return report
    }
}

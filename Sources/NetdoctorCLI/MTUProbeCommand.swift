import ArgumentParser

extension ProbeMethod: ExpressibleByArgument {}
import CNIDetection
import Diagnosis
import KernelState
import NetAddress
import PathMTU
import Session
import Trace
import Pods

struct MTUProbeCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "mtu-probe",
        abstract: "The real path MTU between pods, MTU mismatches and PMTU black holes.",
        discussion: """
            From SRC's network namespace (a pod, or `node`) towards DST (a pod or an IP), don't-fragment \
            probes (ICMP echo, or UDP; IP_PMTUDISC_PROBE, so the kernel's cached path MTU cannot fool it) find the largest \
            size that crosses: the interface's size first, then the size an ICMP "fragmentation needed" \
            names, and where probes vanish, a bisection. Each size is labelled passed, fragmentation \
            needed (from which hop, which MTU) or silently dropped. The interfaces of this node's part of \
            the path (pod eth0, host veth, bridge, overlay and its underlay, route MTUs) are compared \
            with the result.
            With DST omitted, SRC is probed towards every pod subnet this node routes and another local \
            pod; with no arguments, every local pod is (a sweep of the node).
            Exit status: 0 all paths carry what their interfaces send, 1 MTU_MISMATCH, PMTU_BLACKHOLE or \
            no answer, 2 unknown pod, 3 missing privileges.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Remote node") var agents: AgentOptions

    @Argument(help: ArgumentHelp("Where probes start: a pod (NAME, NAMESPACE/NAME, IP) or `node`.", valueName: "src"))
    var source: String?

    @Argument(help: ArgumentHelp("Where they go: a pod or an IP address.", valueName: "dst"))
    var destination: String?

    @Option(help: ArgumentHelp("Probe only this family (default: every family both ends have; path MTU is per family).", valueName: "4|6"))
    var family: IPFamily?

    @Option(help: ArgumentHelp("How long to wait for each probe's fate, in milliseconds.", valueName: "ms"))
    var timeout: Int32 = 300

    @Option(
        name: .customLong("protocol"),
        help: "icmp: echo requests (default; their replies are not rate-limited); udp: to a closed port, as tracepath does.")
    var method: ProbeMethod = .icmp

    @Option(help: "The UDP port probed with --protocol udp (a closed port: the destination answers ICMP port unreachable).")
    var port: UInt16 = 33434

    @Flag(help: "Show every probe and interface in the human output.")
    var verbose = false

    func validate() throws {
        guard (20...10_000).contains(timeout) else { throw ValidationError("--timeout must be between 20 and 10000 ms") }
    }

    var podsNamed: [String]? { source == nil ? nil : [source, destination].compactMap { $0 } }
    var doing: String { "mtu-probe" }
    func agentLocator() -> AgentLocator? { agents.locator() }
    func report(_ session: NodeSession) throws -> any Report {
        let prober = MTUProber(timeoutMilliseconds: timeout, port: port, method: method)
        return try session.mtuProbe(source: source, destination: destination, prober: prober, verbose: verbose, family: family)
    }
}

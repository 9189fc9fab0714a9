import ArgumentParser

extension ProbeMethod: ExpressibleByArgument {}
import CNIDetection
import Diagnosis
import KernelState
import NetAddress
import PathMTU
import Trace
import Pods

struct MTUProbeCommand: ParsableCommand {
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

    @Option(help: ArgumentHelp("How long to wait for each probe's fate, in milliseconds.", valueName: "ms"))
    var timeout: Int32 = 300

    @Option(name: .customLong("protocol"), help: "icmp: echo requests (default; their replies are not rate-limited); udp: to a closed port, as tracepath does.")
    var method: ProbeMethod = .icmp

    @Option(help: "The UDP port probed with --protocol udp (a closed port: the destination answers ICMP port unreachable).")
    var port: UInt16 = 33434

    @Flag(help: "Show every probe and interface in the human output.")
    var verbose = false

    func validate() throws {
        guard (20...10_000).contains(timeout) else { throw ValidationError("--timeout must be between 20 and 10000 ms") }
    }

    func run() throws {
        let root = try global.requireRoot()
        let directory = NamespaceDirectory(root: root)
        let pods = global.pods(root)
        let prober = MTUProber(directory: directory, timeoutMilliseconds: timeout, port: port, method: method)
        let remedy = CNIDetector.mtuRemedy(CNIDetector.detect(DetectionInput(root: root, queryPlugins: false)).family?.family)
        var paths: [ProbedPath] = []
        var findings: [Finding] = []
        do {
            let sources: [ProbeSource]
            if let source {
                sources = [try resolveSource(source, pods: pods, directory: directory)]
            } else {
                sources = pods.pods.compactMap { pod in
                    guard let namespace = try? PodDirectory.namespace(of: pod, directory: directory) else { return nil }
                    return ProbeSource(name: pod.fullName, namespace: namespace, pod: pod)
                }
            }
            for source in sources {
                for target in try targets(for: source, pods: pods) {
                    var path = try prober.probe(from: source, to: target.address, named: target.name)
                    findings += prober.findings(for: path, remedy: remedy)
                    // A destination on another node: its agent reports the remote half's MTUs.
                    if self.source != nil, let pod = source.pod, pods.pod(holding: target.address) == nil {
                        let (interfaces, remoteFindings) = RemotePathMTU.check(path, from: pod, prober: prober, directory: directory,
                                                                               locate: agents.locator(), remedy: remedy)
                        path.interfaces += interfaces
                        findings += remoteFindings
                    }
                    paths.append(path)
                }
            }
        } catch {
            throw CLIError(kernelError: error, doing: "mtu-probe")
        }
        if paths.isEmpty {
            throw CLIError(.badInput, "mtu-probe: nothing to probe (no pods on this node; name a source and a destination)")
        }
        let named = self.source == nil ? [] : ([source, destination].compactMap { $0 }.compactMap { try? pods.find($0) })
        global.emit(PodSourcedReport(MTUProbeReport(paths: paths, findings: findings, verbose: verbose), pods: named, directory: pods))
    }

    func resolveSource(_ name: String, pods: PodDirectory, directory: NamespaceDirectory) throws -> ProbeSource {
        if name == "node" { return ProbeSource(name: "node", namespace: directory.node, pod: nil) }
        let pod = try pods.find(name)
        return ProbeSource(name: pod.fullName, namespace: try PodDirectory.namespace(of: pod, directory: directory), pod: pod)
    }

    /// DST as given, or the sweep's targets for this source.
    func targets(for source: ProbeSource, pods: PodDirectory) throws -> [Sweep.Target] {
        if let destination {
            if let address = IPAddress.parse(destination) {
                let pod = pods.pod(holding: address)
                return [Sweep.Target(name: pod.map { "\($0.fullName) (\(address))" } ?? destination, address: address)]
            }
            let pod = try pods.find(destination)
            guard let address = pod.primaryAddress() ?? pod.addresses.first else {
                throw CLIError(.badInput, "\(pod.fullName) has no address (from \(pod.sourceDescription))")
            }
            return [Sweep.Target(name: "\(pod.fullName) (\(address))", address: address)]
        }
        var targets = Sweep.remoteTargets(node: try NamespaceReader.read(nil))
        if let other = pods.pods.first(where: { $0.containerID != source.pod?.containerID }),
           let address = other.primaryAddress() {
            targets.append(Sweep.Target(name: "\(other.fullName) (\(address))", address: address))
        }
        return targets
    }
}

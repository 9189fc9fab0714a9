import ArgumentParser
import CNIDetection
import Diagnosis
import NetSystem
import NodeFiles
import Pods
import Session
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// How reports are printed.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case human, json
}

/// The contract's options, accepted by every subcommand.
public struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("Prefix for every node file read (env NETDOCTOR_ROOT).", valueName: "dir"),
        completion: .directory)
    var root: String?

    @Option(name: [.short, .long], help: "Output format: human or json (one JSON document on stdout).")
    var output: OutputFormat = .human

    @Flag(name: .long, help: "Plain text without colour (also when NO_COLOR is set).")
    var noColor = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The container runtime's CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet's, under --root).",
            valueName: "endpoint"))
    var runtimeEndpoint: String?

    public init() {}

    /// --root, else NETDOCTOR_ROOT, else "/".
    var nodeRoot: NodeRoot {
        NodeRoot(root ?? getenv("NETDOCTOR_ROOT").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/")
    }

    /// --runtime-endpoint, else NETDOCTOR_RUNTIME_ENDPOINT; nil: the kubelet's, under --root.
    var runtimeEndpointGiven: String? {
        runtimeEndpoint ?? getenv("NETDOCTOR_RUNTIME_ENDPOINT").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The node's pods: the runtime's when it answers, merged with libcni's cache. `kubelet`:
    /// its settings when already read (they name the runtime's endpoint).
    func pods(_ root: NodeRoot, kubelet: KubeletSettings? = nil) -> PodDirectory {
        PodDirectory.load(root: root, endpoint: runtimeEndpointGiven, kubeletEndpoint: kubelet?.containerRuntimeEndpoint)
    }

    /// The node as this command sees it: built once, read lazily. `naming`: the pods the command
    /// names (nil: it looks at every pod).
    func session(agents: AgentLocator? = nil, naming: [String]?) throws -> NodeSession {
        NodeSession(root: try requireRoot(), runtimeEndpoint: runtimeEndpointGiven, agents: agents, podsNamed: naming)
    }

    /// Checks that the root exists before any command reads under it.
    func requireRoot() throws -> NodeRoot {
        let root = nodeRoot
        guard root.exists else {
            throw CLIError(
                .badInput, "the node root \(root.displayPath) does not exist or is not a directory (check --root / NETDOCTOR_ROOT)")
        }
        return root
    }

    /// Prints a report in the chosen format and ends the process with the contract's exit
    /// status. Output is the last thing a command does, so it exits here rather than spend time
    /// tearing down what it read (a big namespace's dump is tens of thousands of values).
    public func emit(_ report: some Report) -> Never {
        switch output {
        case .json: JSONReportRenderer.write(report, pretty: isatty(STDOUT_FILENO) != 0) { writeStandardOutput(bytes: $0) }
        case .human: writeStandardOutput(HumanReportRenderer.render(report, style: .forStandardOutput(noColorFlag: noColor)))
        }
        Glibc.exit(report.exitStatus)
    }
}

/// Writes all of a string to stdout, even when it is a pipe that takes it in pieces; false when
/// nobody reads any more (a closed pipe: `| head` ended).
@discardableResult
public func writeStandardOutput(_ text: String) -> Bool {
    writeStandardOutput(bytes: Array(text.utf8))
}

@discardableResult
func writeStandardOutput(bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { writeAll(STDOUT_FILENO, $0) } == 0
}

import AgentClient
import ArgumentParser
import ConfigFormats
import KernelState
import NetAddress
import NetlinkCodec
import Session
import Trace
import Watch

/// `netdoctor incidents`: a watching agent's incidents.
struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "The incidents a watching agent (agent --watch) kept: each failed probe with the full trace that explained it.",
        discussion: """
            Asks this node's agent (at this node's address, port \(AgentDefaults.port), or --agent) for \
            what its watcher recorded, newest first: the probe that failed, the verdict and finding \
            codes of the trace it ran then, its hops and the time. --node keeps those about one node \
            (as the prober or the probed). Exit status: 0 none, 1 some, 2 bad options, 3 no agent answered.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only incidents about this node (by name).", valueName: "node"))
    var node: String?

    @Option(help: ArgumentHelp("The agent to ask (default: this node's, at its address).", valueName: "addr:port"))
    var agent: String?

    @Option(help: ArgumentHelp("The agents' bearer token (env NETDOCTOR_TOKEN_FILE).", valueName: "file"), completion: .file())
    var tokenFile: String?

    func validate() throws {
        if let agent, AgentDefaults.endpoint(agent) == nil { throw ValidationError("--agent wants ADDR:PORT, not \(agent)") }
    }

    func run() throws {
        let (host, port) = try agent.flatMap { AgentDefaults.endpoint($0) } ?? (thisNodeAddress(), AgentDefaults.port)
        let path = "/v1/incidents" + (node.map { "?node=\(Self.percentEncoded($0))" } ?? "")
        let answer = try askAgent(host: host, port: port, path: path, tokenFile: tokenFile, doing: "incidents")
        global.emit(IncidentsReport(agent: "\(host):\(port)", answer: answer))
    }

    /// The node's own address, where its agent listens (NamespaceState.nodeAddress).
    func thisNodeAddress() throws -> String {
        let session = try global.session(naming: [])
        guard let address = try session.kernel.open(session.kernel.node).state().nodeAddress else {
            throw CLIError(
                .environment, "incidents: this node has no address its agent would listen on; name the agent with --agent ADDR:PORT")
        }
        return address.description
    }

    static func percentEncoded(_ text: String) -> String {
        String(
            text.utf8.flatMap { byte -> [Character] in
                let c = Character(UnicodeScalar(byte))
                // RFC 3986's unreserved characters are ASCII: every other byte is escaped.
                return c.isASCII && (c.isLetter || c.isNumber || "-._~".contains(c))
                    ? [c] : Array("%" + String(byte, radix: 16, uppercase: true).leftPadded(2))
            })
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

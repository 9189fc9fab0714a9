import AgentClient
import ArgumentParser
import Session
import NetAddress
import Trace

/// How `trace` and `mtu-probe` reach the remote node's agent.
struct AgentOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The remote node's agent, when not at that node's address and port \(AgentDefaults.port).", valueName: "addr:port"))
    var agent: String?

    @Flag(help: "Do not ask the remote node's agent: this node's view only.")
    var noAgent = false

    @Option(help: ArgumentHelp("The agents' bearer token (env NETDOCTOR_TOKEN_FILE).", valueName: "file"), completion: .file())
    var tokenFile: String?

    @Option(
        help: ArgumentHelp(
            "CA bundle to verify the agents' HTTPS certificates by (env NETDOCTOR_TLS_CA); without it, plain HTTP.", valueName: "file"),
        completion: .file())
    var tlsCA: String?

    @Option(help: ArgumentHelp("The name in the agents' certificate, when it is not the node's IP.", valueName: "name"))
    var tlsServerName: String?

    func validate() throws {
        if let agent, AgentDefaults.endpoint(agent) == nil { throw ValidationError("--agent wants ADDR:PORT, not \(agent)") }
    }

    /// Where the agent of the node at an address is, and how to talk to it; nil with --no-agent.
    func locator() -> AgentLocator? {
        if noAgent { return nil }
        return Self.locator(
            tokenFile: tokenFile, explicit: agent.flatMap { AgentDefaults.endpoint($0) }, tlsCA: tlsCA, serverName: tlsServerName)
    }

    /// Each node's agent at its address (or `explicit`), with the token of --token-file or
    /// NETDOCTOR_TOKEN_FILE and the CA of --tls-ca or NETDOCTOR_TLS_CA; a missing token is said
    /// where an agent is asked.
    static func locator(tokenFile: String?, explicit: (host: String, port: Int)?, tlsCA: String?, serverName: String?) -> AgentLocator {
        let tokenPath = AgentToken.path(tokenFile)
        let token = Result { try AgentToken.read(tokenFile, doing: "agent") }
        let ca = tlsCA ?? environment("NETDOCTOR_TLS_CA")
        return AgentClient.locator(
            settings: {
                guard tokenPath != nil else {
                    return .failure(RemoteHalfError("no agent token (--token-file or \(AgentToken.environmentName))"))
                }
                return token.map { AgentClientSettings(token: $0, caPath: ca, serverName: serverName) }.mapError {
                    RemoteHalfError("\($0)")
                }
            }, explicit: explicit)
    }
}

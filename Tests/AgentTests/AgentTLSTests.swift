import AgentClient
import ConfigFormats
import NodeFiles
import TestSupport
import Testing

/// HTTPS: the agent serves its certificate; callers verify it against their CA, by IP address
/// or by the name they are told to expect.
@Suite("Agent: TLS", .serialized)
struct AgentTLSTests {
    /// A CA, and two certificates it signed for one key: one for 127.0.0.1 (an agent per node,
    /// each with its own), one for the name netdoctor-agent (one shared by every agent); and a
    /// second, unrelated CA.
    static func certificates() throws -> NodeTree {
        let tree = NodeTree()
        let script = """
            set -e
            cd '\(tree.path)'
            key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>/dev/null; }
            key -x509 -keyout ca.key -out ca.pem -days 1 -subj /CN=netdoctor-test-ca
            key -x509 -keyout other-ca.key -out other-ca.pem -days 1 -subj /CN=someone-else
            key -keyout agent.key -out agent.csr -subj /CN=agent
            printf 'subjectAltName=IP:127.0.0.1\\n' > ip.ext
            openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out agent.pem -days 1 -extfile ip.ext 2>/dev/null
            printf 'subjectAltName=DNS:netdoctor-agent\\n' > name.ext
            openssl x509 -req -in agent.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out named.pem -days 1 -extfile name.ext 2>/dev/null
            """
        guard let made = ChildProcess.run("/bin/sh", arguments: ["-c", script], environment: ["PATH=/usr/bin:/bin"]), made.status == 0
        else {
            throw TestFailure("openssl could not make the test certificates (is openssl installed? scripts/setup installs it)")
        }
        return tree
    }

    /// An agent serving `certificate` (a file in the certificates' folder) with their one key.
    func agent(serving certificate: String, from certificates: NodeTree) throws -> RunningAgent {
        try RunningAgent(extraArguments: [
            "--tls-cert", certificates.path + "/" + certificate, "--tls-key", certificates.path + "/agent.key",
        ])
    }

    func client(_ agent: RunningAgent, ca: String?, name: String? = nil) throws -> AgentClient {
        try AgentClient(
            host: "127.0.0.1", port: agent.port,
            settings: AgentClientSettings(token: Array(RunningAgent.token.utf8), caPath: ca, serverName: name, timeoutMilliseconds: 3000))
    }

    @Test("a certificate for the node's IP: a caller with the CA gets through; another CA or plain HTTP fail cleanly; the agent stays up")
    func verifiedByAddress() throws {
        let certificates = try Self.certificates()
        let dir = certificates.path
        let agent = try agent(serving: "agent.pem", from: certificates)
        defer { agent.stop() }
        let info = try client(agent, ca: dir + "/ca.pem").call("GET", "/v1/info")
        #expect(info["node"]?.string == "test-node")
        #expect(info["tls"]?.bool == true)
        #expect(throws: AgentCallError.self) { try client(agent, ca: dir + "/other-ca.pem").call("GET", "/v1/info") }
        #expect(throws: AgentCallError.self) { try client(agent, ca: nil).call("GET", "/v1/info") }
        // The right CA and a wrong token: TLS is not authentication.
        let wrongToken = try AgentClient(
            host: "127.0.0.1", port: agent.port,
            settings: AgentClientSettings(token: Array("wrong-token-wrong-token".utf8), caPath: dir + "/ca.pem", serverName: nil))
        do {
            _ = try wrongToken.call("GET", "/v1/info")
            Issue.record("a wrong token got through")
        } catch let error as AgentCallError {
            #expect(error.status == 401)
        }
        #expect(agent.isRunning)
    }

    @Test("one certificate for a name, shared by every agent: callers told the name get through; by IP or with another name they do not")
    func verifiedByName() throws {
        let certificates = try Self.certificates()
        let dir = certificates.path
        let agent = try agent(serving: "named.pem", from: certificates)
        defer { agent.stop() }
        #expect(try client(agent, ca: dir + "/ca.pem", name: "netdoctor-agent").call("GET", "/v1/info")["node"]?.string == "test-node")
        #expect(throws: AgentCallError.self) { try client(agent, ca: dir + "/ca.pem").call("GET", "/v1/info") }
        #expect(throws: AgentCallError.self) { try client(agent, ca: dir + "/ca.pem", name: "someone-else").call("GET", "/v1/info") }
        #expect(agent.isRunning)
    }

    @Test("a certificate without its key, or files that are not PEM: exit 3 with one line")
    func badCertificate() throws {
        let tree = NodeTree().write("/token", RunningAgent.token).write("/cert.pem", "not a certificate\n").write("/key.pem", "nor a key\n")
        let result = try Binary.run(
            [
                "agent", "--listen", "127.0.0.1:65000", "--token-file", tree.path + "/token",
                "--tls-cert", tree.path + "/cert.pem", "--tls-key", tree.path + "/key.pem",
            ], timeout: 10_000)
        #expect(result.status == 3)
        #expect(result.errorText.contains("TLS certificate or key"))
        let half = try Binary.run(["agent", "--token-file", tree.path + "/token", "--tls-cert", tree.path + "/cert.pem"], timeout: 10_000)
        #expect(half.status == 2)
    }
}

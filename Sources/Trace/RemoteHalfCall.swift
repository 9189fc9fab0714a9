import Diagnosis
import NetAddress
import PathFacts

/// Finds the agent of the node a packet leaves for: given that node's address (the overlay's FDB
/// entry or the route's gateway), a client for its agent; nil when no agent may be asked (no
/// token configured), which the trace reports instead of guessing.
public typealias AgentLocator = @Sendable (IPAddress) -> Result<any RemoteNodeAgent, RemoteHalfError>

/// The trace's conversation with the remote node's agent, and the findings that say when that
/// half could not be seen.
struct RemoteHalfCall: Sendable {
    var agent: any RemoteNodeAgent
    var session: String
    var view: RemoteHalfView

    /// What to ask the agent of the node the packet leaves for; nil when the destination is on
    /// this node, or the path does not leave it.
    static func request(
        facts: PathFacts, ends: TraceEnds, windowMilliseconds: Int, proto: TraceProtocol, port: UInt16?, dropReasons: Bool = false
    ) -> RemoteTraceRequest? {
        guard ends.destinationPod == nil, let nodeAddress = facts.node?.remoteAddress, facts.hops.last?.role == .underlay else {
            return nil
        }
        return RemoteTraceRequest(
            sourceAddress: ends.sourceAddress, destinationAddress: ends.destinationAddress, nodeAddress: nodeAddress,
            encapsulated: facts.hops.contains { $0.role == .overlay }, windowMilliseconds: windowMilliseconds,
            proto: proto, port: port, dropReasons: dropReasons)
    }

    /// Asks the agent to watch its half before the probe leaves; the local view alone when not.
    static func open(_ request: RemoteTraceRequest, locate: AgentLocator) -> (RemoteHalfCall?, [Finding]) {
        let nodeAddress = request.nodeAddress
        let agent: any RemoteNodeAgent
        switch locate(nodeAddress) {
        case .success(let found): agent = found
        case .failure(let why):
            return (nil, [unreachable("No agent was asked about the node at \(nodeAddress): \(why).", severity: .info, evidence: [])])
        }
        do {
            let (session, view) = try agent.prepare(request)
            return (RemoteHalfCall(agent: agent, session: session, view: view), [])
        } catch {
            return (
                nil,
                [
                    unreachable(
                        "The agent of the node at \(nodeAddress) could not be asked: its half of the path is not seen.",
                        severity: .warning, evidence: ["\(agent.endpoint): \(error)"])
                ]
            )
        }
    }

    /// The remote half with what its hops saw; nil (and a warning) when the agent stopped answering.
    func finish(signature: ProbeSignature) -> (RemoteHalfView?, [Finding]) {
        do {
            return (try agent.finish(session: session, signature: signature), [])
        } catch {
            return (
                nil,
                [
                    Self.unreachable(
                        "The agent on \(view.node) stopped answering during the trace: its half of the path is not seen.",
                        severity: .warning, evidence: ["\(agent.endpoint): \(error)"])
                ]
            )
        }
    }

    /// The probe never left: the remote captures need not wait out their window.
    func abandon() { try? agent.abandon(session: session) }

    static func unreachable(_ message: String, severity: Severity, evidence: [String]) -> Finding {
        AgentUnreachable.finding(message + " The verdict is this node's view alone.", severity: severity, evidence: evidence)
    }
}

/// AGENT_UNREACHABLE, for every caller that asked another node's agent and got no answer.
public enum AgentUnreachable {
    public static func finding(_ message: String, severity: Severity, evidence: [String]) -> Finding {
        Finding(
            .agentUnreachable, severity, message, hop: nil, evidence: evidence,
            remedy:
                "Run the netdoctor agent on that node (deploy/daemonset.yaml, or lab up --agents), give this command its token (--token-file), or name it with --agent ADDR:PORT."
        )
    }
}

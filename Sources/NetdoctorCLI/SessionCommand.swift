import ArgumentParser
import Diagnosis
import Session
import Trace

/// A command that reads the node through one NodeSession: it says which pods it names, which
/// agents it may ask, and what report it makes. Opening the session, turning failures into the
/// contract's one line and exit status, and emitting the report (whose findings set the exit
/// status) happen here, once for every such command.
protocol SessionCommand: ParsableCommand {
    var global: GlobalOptions { get }
    /// The pods (names or IPs) the command names; nil: it looks at every pod.
    var podsNamed: [String]? { get }
    /// How it reaches other nodes' agents; nil: this node's view only.
    func agentLocator() -> AgentLocator?
    /// What it is doing, as a failure's line names it ("inspect pod-a").
    var doing: String { get }
    func report(_ session: NodeSession) throws -> any Report
}

extension SessionCommand {
    func agentLocator() -> AgentLocator? { nil }

    func run() throws { try runOnSession() }

    /// Opens the session, makes the report and emits it (a command with another way to run,
    /// `check --node`, calls this for its own node).
    func runOnSession() throws {
        let session = try global.session(agents: agentLocator(), naming: podsNamed)
        let report: any Report
        do {
            report = try self.report(session)
        } catch let error as CLIError {
            throw error
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CLIError(kernelError: error, doing: doing)
        }
        global.emit(report)
    }
}

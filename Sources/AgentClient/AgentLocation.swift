import NetAddress
import Trace

extension AgentClient {
    /// Where the agent of the node at an address is, for every caller (the CLI's commands, the
    /// agent's own watcher): `explicit` when given (--agent: one agent for every node), else the
    /// node's address and `port`. `settings` is asked at each call: a missing token is said
    /// there, as the remote half's failure, not when the command starts.
    public static func locator(
        settings: @escaping @Sendable () -> Result<AgentClientSettings, RemoteHalfError>,
        explicit: (host: String, port: Int)? = nil, port: Int = AgentDefaults.port
    ) -> AgentLocator {
        { nodeAddress in
            let (host, port) = explicit ?? (nodeAddress.description, port)
            return settings().flatMap { settings in
                Result { try AgentClient(host: host, port: port, settings: settings) as any RemoteNodeAgent }.mapError {
                    RemoteHalfError("\($0)")
                }
            }
        }
    }
}

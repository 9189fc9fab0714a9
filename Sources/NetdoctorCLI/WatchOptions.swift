import Agent
import AgentClient
import ArgumentParser
import ConfigFormats
import NetAddress
import NodeFiles
import Session
import Trace
import Watch

/// `agent --watch`: the agent probes its peers and explains what fails.
struct WatchOptions: ParsableArguments {
    @Flag(
        help:
            "Probe peers continuously: each interval, the next --watch-peers nodes on a ring by name hash (their agent, and a pod of each with an ICMP echo of the full pod MTU with DF set); a failure is explained by a full trace and kept as an incident (/v1/incidents); metrics at /metrics."
    )
    var watch = false

    @Option(help: ArgumentHelp("Seconds between probe rounds.", valueName: "s"))
    var watchInterval: Double = 30

    @Option(
        help: ArgumentHelp(
            "Each round's wait stretched or shrunk by up to this fraction, so that agents started together drift apart.",
            valueName: "fraction"))
    var watchJitter: Double = 0.1

    @Option(help: ArgumentHelp("How long a watch probe waits for its answer.", valueName: "ms"))
    var watchTimeout: Int32 = 1000

    @Option(help: ArgumentHelp("Peers each node probes: the next N on the ring.", valueName: "n"))
    var watchPeers = 3

    @Option(
        help: ArgumentHelp(
            "More node addresses to watch beside those this node's routes and overlay entries lead to (comma-separated).",
            valueName: "addrs"))
    var watchNodes: String?

    @Option(
        help: ArgumentHelp(
            "A name to look up from a local pod each round, as its resolver would (e.g. kubernetes.default).", valueName: "name"))
    var watchDNS: String?

    @Option(
        help: ArgumentHelp(
            "A Service to connect to from a local pod each round (ADDR:PORT or NAMESPACE/NAME[:PORT]).", valueName: "service"))
    var watchService: String?

    @Option(help: ArgumentHelp("Incidents kept (the oldest go first).", valueName: "n"))
    var watchIncidents = 50

    @Option(
        help: ArgumentHelp(
            "File keeping the incidents across restarts (a hostPath in the DaemonSet); none: memory only.", valueName: "file"))
    var incidentsFile: String?

    func validate() throws {
        guard (1...86_400).contains(watchInterval) else { throw ValidationError("--watch-interval must be between 1 and 86400 s") }
        guard (0...0.5).contains(watchJitter) else { throw ValidationError("--watch-jitter must be between 0 and 0.5") }
        guard (50...30_000).contains(watchTimeout) else { throw ValidationError("--watch-timeout must be between 50 and 30000 ms") }
        guard (1...10).contains(watchPeers) else { throw ValidationError("--watch-peers must be between 1 and 10") }
        guard (1...1000).contains(watchIncidents) else { throw ValidationError("--watch-incidents must be between 1 and 1000") }
        if let watchNodes, watchNodes.split(separator: ",").contains(where: { IPAddress.parse(String($0)) == nil }) {
            throw ValidationError("--watch-nodes wants IP addresses, comma-separated")
        }
    }

    var settings: WatchSettings {
        var settings = WatchSettings()
        settings.intervalSeconds = watchInterval
        settings.timeoutMilliseconds = watchTimeout
        settings.jitter = watchJitter
        settings.ringSize = watchPeers
        settings.peers = (watchNodes ?? "").split(separator: ",").compactMap { IPAddress.parse(String($0)) }
        settings.dnsName = watchDNS
        settings.service = watchService
        settings.incidentLimit = watchIncidents
        return settings
    }

    /// The watcher of an agent with these settings: its peers asked with the agent's own token
    /// (one token for the cluster's agents), its traces through a session that asks them too.
    func watcher(agent: AgentSettings, log: @escaping @Sendable (String, [(String, ConfigValue)]) -> Void) -> Watcher? {
        guard watch else { return nil }
        let client = AgentClientSettings(
            token: agent.token, caPath: environment("NETDOCTOR_TLS_CA"), serverName: nil,
            timeoutMilliseconds: Int64(watchTimeout) * 2)
        let port = agent.port == 0 ? AgentDefaults.port : agent.port
        let locate = AgentClient.locator(settings: { .success(client) }, port: port)
        let (root, runtime) = (agent.root, agent.runtimeEndpoint)
        return Watcher(
            settings: settings, node: agent.nodeName, incidents: IncidentLog(limit: watchIncidents, path: incidentsFile),
            peer: { address in try? AgentClient(host: address.description, port: port, settings: client) },
            session: { NodeSession(root: root, runtimeEndpoint: runtime, agents: locate) }, log: log)
    }
}

extension AgentClient: WatchPeer {
    public func info() throws -> (node: String, pods: [IPAddress]) {
        let answer = try call("GET", "/v1/info")
        guard let node = answer["node"]?.string else { throw RemoteHalfError("no node name in /v1/info") }
        let pods = (answer["probeTargets"]?.array ?? []).flatMap { $0["addresses"]?.array ?? [] }.compactMap {
            $0.string.flatMap(IPAddress.parse)
        }
        return (node, Array(pods.prefix(4)))
    }

}

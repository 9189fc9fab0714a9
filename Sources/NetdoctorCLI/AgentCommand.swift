import Agent
import ArgumentParser
import Session
import NodeFiles
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Serve this node's view to netdoctor on other nodes (cluster mode; runs as a DaemonSet).",
        discussion: """
            A long-running, read-only node agent speaking HTTP/JSON (HTTPS with --tls-cert/--tls-key). \
            Every request but /healthz and /readyz must carry the bearer token read from --token-file \
            (env NETDOCTOR_TOKEN_FILE). It serves inspect (/v1/inspect), route, neighbour and FDB lookups \
            (/v1/route, /v1/neighbors, /v1/fdb), firewall counters (/v1/firewall), bounded captures \
            (/v1/capture), MTU probes (/v1/mtu-probe) and the remote half of a cross-node trace \
            (/v1/trace/…); metrics in Prometheus format at /metrics; one JSON log line per request on \
            stderr. Requests are bounded in size, time and concurrency. `trace` and `mtu-probe` on \
            another node find this agent at the node's address, port \(AgentDefaults.port). See docs/agent.md.
            Exit status: 0 after SIGTERM/SIGINT, 2 bad options or token file, 3 cannot listen.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup(title: "Watching") var watching: WatchOptions

    @Option(
        help: ArgumentHelp(
            "Address and port to listen on (the node's address; 0.0.0.0 for all, [::] for all of both families; port 0: any free port, logged). A comma-separated list listens on each: a dual-stack node's addresses, as the downward API's status.hostIPs gives them (an address without a port gets \(AgentDefaults.port)).",
            valueName: "addr:port[,…]"))
    var listen: String = "0.0.0.0:\(AgentDefaults.port)"

    @Option(
        help: ArgumentHelp("File holding the bearer token callers must send (env NETDOCTOR_TOKEN_FILE).", valueName: "file"),
        completion: .file())
    var tokenFile: String?

    @Option(help: ArgumentHelp("PEM certificate (chain) to serve HTTPS with.", valueName: "file"), completion: .file())
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "file"), completion: .file())
    var tlsKey: String?

    @Option(help: ArgumentHelp("How this node is named in other nodes' traces (env NODE_NAME; default: the host name).", valueName: "name"))
    var nodeName: String?

    @Option(help: ArgumentHelp("The longest capture a caller may ask for, in seconds.", valueName: "s"))
    var maxCaptureSeconds: Int = 10

    @Option(help: ArgumentHelp("Captures that may run at once.", valueName: "n"))
    var maxCaptures: Int = 2

    @Option(help: ArgumentHelp("Seconds a request's head and body may take to arrive (slow clients are cut off).", valueName: "s"))
    var readTimeout: Int = 10

    func validate() throws {
        guard (1...300).contains(maxCaptureSeconds) else { throw ValidationError("--max-capture-seconds must be between 1 and 300") }
        guard (1...16).contains(maxCaptures) else { throw ValidationError("--max-captures must be between 1 and 16") }
        guard (1...60).contains(readTimeout) else { throw ValidationError("--read-timeout must be between 1 and 60") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() throws {
        let root = try global.requireRoot()
        guard let listeners = AgentDefaults.endpoints(listen, allowingPortZero: true), let (host, port) = listeners.first else {
            throw CLIError(
                .badInput,
                "agent: --listen wants ADDR:PORT or a comma-separated list of them (e.g. 10.0.0.5:\(AgentDefaults.port), or 10.0.0.5,fd00::5), not \(listen)"
            )
        }
        let (token, warnings) = try AgentToken.readChecked(tokenFile, doing: "agent")
        // Key and certificate are read whole at start: a FIFO or device there would block it forever.
        for file in [tlsCert, tlsKey].compactMap({ $0 }) {
            var st = stat()
            guard stat(AgentToken.absolute(file), &st) == 0 else {
                throw CLIError(.badInput, "agent: cannot read \(file): \(String(cString: strerror(errno)))")
            }
            guard st.st_mode & S_IFMT == S_IFREG else { throw CLIError(.badInput, "agent: \(file) is not a regular file") }
        }
        var limits = AgentLimits()
        limits.maxCaptureMilliseconds = maxCaptureSeconds * 1000
        limits.maxConcurrentCaptures = maxCaptures
        limits.requestReadTimeoutSeconds = Int64(readTimeout)
        var settings = AgentSettings(
            host: host, port: port, token: token, tlsCertificatePath: tlsCert.map(AgentToken.absolute),
            tlsKeyPath: tlsKey.map(AgentToken.absolute),
            nodeName: nodeName ?? environment("NODE_NAME") ?? hostName(), root: root,
            runtimeEndpoint: global.runtimeEndpointGiven, limits: limits)
        settings.startupWarnings = warnings
        settings.moreListeners = Array(listeners.dropFirst())
        let log = AgentLog(node: settings.nodeName)
        let watcher = watching.watcher(agent: settings, log: { log.info($0, $1) })
        settings.watch = watcher
        watcher?.start()
        defer { watcher?.stop() }
        do {
            try AgentServer(settings: settings).run()
        } catch let error as AgentStartError {
            throw CLIError(.environment, "agent: \(error)")
        }
    }

    func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "node" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

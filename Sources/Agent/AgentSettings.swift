import ConfigFormats
import NodeFiles

/// How `netdoctor agent` runs: where it listens, who may call it, and how much any caller may ask.
public struct AgentSettings: Sendable {
    public var host: String
    public var port: Int
    /// More addresses to listen on beside host:port (a dual-stack node's other family).
    public var moreListeners: [(host: String, port: Int)] = []
    /// The bearer token every request but the health checks must carry.
    public var token: [UInt8]
    /// PEM files; both or neither. Without them the agent speaks plain HTTP.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// How hops and findings name this node for callers on other nodes.
    public var nodeName: String
    public var root: NodeRoot
    /// The runtime's CRI socket as given (--runtime-endpoint); nil: the kubelet's, under root.
    public var runtimeEndpoint: String?
    public var limits: AgentLimits
    /// Said in the log when the agent starts (a token file others may read).
    public var startupWarnings: [String] = []
    /// agent --watch: its metrics join /metrics, its incidents are /v1/incidents.
    public var watch: (any AgentWatch)?

    public init(
        host: String, port: Int, token: [UInt8], tlsCertificatePath: String?, tlsKeyPath: String?, nodeName: String, root: NodeRoot,
        runtimeEndpoint: String? = nil, limits: AgentLimits = AgentLimits()
    ) {
        self.host = host
        self.port = port
        self.token = token
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.nodeName = nodeName
        self.root = root
        self.runtimeEndpoint = runtimeEndpoint
        self.limits = limits
    }
}

/// Every request is bounded: in size, in time, and in how many run at once.
public struct AgentLimits: Sendable {
    /// A request body larger than this is refused (413) before it is read.
    public var maxBodyBytes = 64 << 10
    /// Captures: the longest one, and the most packets one returns.
    public var maxCaptureMilliseconds = 10_000
    public var maxCapturePackets = 2_000
    /// Requests being worked on at once; more get 503 at once rather than queueing.
    public var maxConcurrentRequests = 64
    /// Captures running at once (each holds packet sockets and a thread): more get 429.
    public var maxConcurrentCaptures = 2
    /// Trace sessions open at once (captures waiting for a caller's probe): more get 429.
    public var maxTraceSessions = 8
    /// The longest a trace session may stay open before the agent ends it itself.
    public var maxTraceWindowMilliseconds = 35_000
    /// A request not answered in this time gets 504 (the work itself is bounded too).
    public var requestTimeoutSeconds: Int64 = 30
    /// Connections open at once; more are closed as they arrive (a flood of idle sockets).
    public var maxConnections = 512
    /// A connection that sends nothing for this long between requests is closed.
    public var idleTimeoutSeconds: Int64 = 15
    /// A request's head and body must arrive whole within this time of the connection opening
    /// (or of the previous answer): one header byte every few seconds (slowloris) is cut off.
    public var requestReadTimeoutSeconds: Int64 = 10
    /// Connections that have not yet sent an authenticated request, at most: past it the oldest
    /// of them is closed to make room, so they can never hold every slot (probes and callers
    /// with a token always get in).
    public var maxUnauthenticatedConnections = 256
    /// Threads for the blocking work (netlink, namespaces, captures).
    public var workerThreads = 8

    public init() {}
}

/// What a watching agent adds to the API (the Watch library provides it).
public protocol AgentWatch: Sendable {
    /// Prometheus text exposition of the watch metrics.
    var metricsText: String { get }
    /// The incidents kept, newest first; `node`: only those about that node.
    func incidents(node: String?) -> ConfigValue
}

import GRPCCore
import GRPCNIOTransportHTTP2Posix
import RuntimeModel

/// What a kubelet asks of a runtime to start and end a pod's sandbox. Only the lab calls these
/// (it plays the kubelet's part); netdoctor on a node never does.
extension RuntimeClient {
    /// A pod sandbox to run, as the kubelet describes one.
    public struct SandboxRequest: Sendable {
        public var name: String
        public var namespace: String
        public var uid: String
        public var dnsServers: [String]
        public var dnsSearches: [String]
        public var labels: [String: String]
        /// The cgroup the sandbox's cgroups go under (cgroupfs syntax), as the kubelet's pod cgroup.
        public var cgroupParent: String

        public init(
            name: String, namespace: String, uid: String, dnsServers: [String], dnsSearches: [String], labels: [String: String],
            cgroupParent: String
        ) {
            self.name = name
            self.namespace = namespace
            self.uid = uid
            self.dnsServers = dnsServers
            self.dnsSearches = dnsSearches
            self.labels = labels
            self.cgroupParent = cgroupParent
        }
    }

    /// RunPodSandbox: the runtime makes the namespace, calls the CNI plugins, starts the pause
    /// container. Returns the sandbox ID.
    public static func runPodSandbox(
        _ endpoint: RuntimeEndpoint, _ request: SandboxRequest,
        budget: Duration = .seconds(30)
    ) throws(RuntimeQueryError) -> String {
        let message = Runtime_V1_RunPodSandboxRequest.with {
            $0.config = .with { config in
                config.metadata = .with {
                    $0.name = request.name
                    $0.namespace = request.namespace
                    $0.uid = request.uid
                    $0.attempt = 0
                }
                config.hostname = request.name
                config.dnsConfig = .with {
                    $0.servers = request.dnsServers
                    $0.searches = request.dnsSearches
                    $0.options = ["ndots:5"]
                }
                config.labels = request.labels
                config.linux = .with { $0.cgroupParent = request.cgroupParent }
            }
        }
        return try call(endpoint, budget: budget) { service, options in
            try await service.runPodSandbox(message, options: options).podSandboxID
        }
    }

    /// StopPodSandbox then RemovePodSandbox: the runtime calls CNI DEL, removes the namespace,
    /// stops the pause container and forgets the sandbox.
    public static func removePodSandbox(_ endpoint: RuntimeEndpoint, id: String, budget: Duration = .seconds(30)) throws(RuntimeQueryError)
    {
        try call(endpoint, budget: budget) { service, options in
            _ = try await service.stopPodSandbox(.with { $0.podSandboxID = id }, options: options)
            _ = try await service.removePodSandbox(.with { $0.podSandboxID = id }, options: options)
        }
    }
}

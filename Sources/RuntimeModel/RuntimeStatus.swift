import Diagnosis
import NodeFiles

/// Whether the container runtime was asked for the node's pods, where, and what came of it.
public enum RuntimeStatus: Sendable {
    /// The command needed no pods.
    case notAsked
    /// No endpoint given, none in the kubelet's config, no runtime socket at a default path.
    case noEndpoint(given: String?)
    case unavailable(RuntimeEndpoint, RuntimeQueryError)
    case answered(RuntimeEndpoint, RuntimeInventory)

    public var inventory: RuntimeInventory? {
        if case .answered(_, let inventory) = self { return inventory }
        return nil
    }

    public var endpointName: String {
        switch self {
        case .answered(let endpoint, _), .unavailable(let endpoint, _): endpoint.named
        case .noEndpoint(let given): given ?? "none"
        case .notAsked: "not asked"
        }
    }

    /// The endpoint to ask: the operator's (--runtime-endpoint, NETDOCTOR_RUNTIME_ENDPOINT) as
    /// written, `none` for no runtime at all; else the kubelet's containerRuntimeEndpoint under
    /// --root; else the first runtime default socket present under --root.
    /// `kubeletEndpoint`: the kubelet's containerRuntimeEndpoint, read by whoever reads the
    /// kubelet's config (CNIDetection's KubeletReader): Pods knows no CNI or kubelet config.
    public static func endpoint(root: NodeRoot, given: String?, kubeletEndpoint: String?) -> RuntimeEndpoint? {
        if let given, !given.isEmpty { return given == "none" ? nil : RuntimeEndpoint.given(given) }
        if let kubeletEndpoint, let endpoint = RuntimeEndpoint.onNode(kubeletEndpoint, root: root) { return endpoint }
        return RuntimeEndpoint.defaults.lazy.compactMap { RuntimeEndpoint.onNode($0, root: root) }.first(where: \.socketExists)
    }

    /// What a report says when pods came from the cache alone: a note when there is no socket
    /// to ask (a support bundle, a pod without the socket mounted), a warning when a runtime
    /// socket is there but did not answer.
    public var finding: Finding? {
        switch self {
        case .notAsked, .answered: return nil
        case .noEndpoint(let given):
            return Finding(
                .runtimeUnreachable, .info,
                "No container runtime socket to ask: pods were read from libcni's result cache alone.",
                hop: "runtime",
                evidence: [
                    given.map { $0 == "none" ? "--runtime-endpoint none" : "--runtime-endpoint \($0) is not a unix socket path" }
                        ?? "no containerRuntimeEndpoint in the kubelet's config and no socket at \(RuntimeEndpoint.defaults.joined(separator: ", "))"
                ],
                remedy: "Mount the runtime's socket (e.g. /run/containerd/containerd.sock) under --root, or give --runtime-endpoint.")
        case .unavailable(let endpoint, let error):
            let quiet = error.kind == .noSocket
            return Finding(
                .runtimeUnreachable, quiet ? .info : .warning,
                quiet
                    ? "The runtime's socket \(endpoint.named) is not here: pods were read from libcni's result cache alone."
                    : "The container runtime at \(endpoint.named) did not answer: pods were read from libcni's result cache alone, which may name pods that are gone.",
                hop: "runtime", evidence: [error.message],
                remedy: quiet
                    ? "Mount the runtime's socket under --root (the DaemonSet's optional runtime-socket volume), or give --runtime-endpoint."
                    : "Check that the runtime is running and healthy (crictl version); netdoctor retries on its next run.")
        }
    }
}

/// One of the runtime's own conditions from CRI `Status`: `RuntimeReady`, `NetworkReady` (false
/// with reason NetworkPluginNotReady while the runtime has no CNI network it can load: then no
/// new pod gets a network, and the kubelet marks the node NotReady).
public struct RuntimeCondition: Sendable, Equatable {
    public var type: String
    public var status: Bool
    public var reason: String
    public var message: String

    public init(type: String, status: Bool, reason: String, message: String) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }

    public static let networkReady = "NetworkReady"
}

import Diagnosis
import RuntimeModel

/// RUNTIME_NETWORK_NOT_READY, built here only: the runtime's own NetworkReady condition. Pure.
public enum RuntimeNetworkChecks {
    public static func notReady(_ conditions: [RuntimeCondition], runtime: String) -> [Finding] {
        guard let network = conditions.first(where: { $0.type == RuntimeCondition.networkReady }), !network.status else { return [] }
        return [
            Finding(
                .runtimeNetworkNotReady, .error,
                "\(runtime) reports NetworkReady=false: it has no CNI network it can load, so no new pod gets a network (they stay in ContainerCreating) and the kubelet marks the node NotReady.",
                hop: "runtime",
                evidence: [
                    "CRI Status: NetworkReady=false reason=\(network.reason.isEmpty ? "(none)" : network.reason) message=\"\(network.message)\""
                ],
                remedy:
                    "The configuration findings above say what the runtime cannot load; once a valid network config is in its conf dir, the runtime turns ready on its own (containerd: when a file there is written)."
            )
        ]
    }
}

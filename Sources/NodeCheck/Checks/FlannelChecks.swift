import Diagnosis
import NetAddress

/// FLANNEL_SUBNET_MISSING, built here only: the active network is flannel's and its subnet.env
/// is missing, unreadable, or lacks what the plugin needs. Pure.
public enum FlannelChecks {
    public static func subnetMissing(_ subnet: FlannelSubnet, source: String) -> [Finding] {
        var evidence: [String] = []
        if let problem = subnet.problem {
            evidence.append(problem)
        } else if let environment = subnet.environment {
            for key in ["FLANNEL_NETWORK", "FLANNEL_SUBNET"] {
                guard let value = environment[key], !value.isEmpty else {
                    evidence.append("\(subnet.path): no \(key)")
                    continue
                }
                if IPPrefix.parse(value) == nil { evidence.append("\(subnet.path): \(key)=\(value) is not a prefix") }
            }
        }
        guard !evidence.isEmpty else { return [] }
        return [
            Finding(
                .flannelSubnetMissing, .error,
                "The active network is flannel's, and \(subnet.path) does not give it the node's subnet: every new pod fails (\"open \(subnet.path): no such file or directory\" when it is missing).",
                hop: subnet.path, evidence: evidence + ["active network: \(source)"],
                remedy:
                    "flannel's daemon writes the file when it starts and has the node's lease: check the kube-flannel pod on this node (its log, its access to the API server, the node's podCIDR)."
            )
        ]
    }
}

import ConfigFormats
import Diagnosis

/// SANDBOX_NETWORK_FAILED, built here only: pods whose sandbox got no network, one finding per
/// cause, in the plugin's own words. Pure.
public enum SandboxChecks {
    /// `window`: how far back the logs were read (minutes), to say so.
    public static func networkFailed(_ groups: [SandboxFailureGroup], window: Int) -> [Finding] {
        groups.map { group in
            var evidence = ["\(group.count) failed sandbox\(group.count == 1 ? "" : "es") in the last \(window) min" + span(group)]
            if !group.pods.isEmpty { evidence.append("pods: \(group.pods.joined(separator: ", "))") }
            evidence.append("read from \(group.sources.joined(separator: ", "))")
            return Finding(
                .sandboxNetworkFailed, .error,
                "New pods get no network: \(group.cause)",
                hop: "runtime", evidence: evidence,
                remedy:
                    "The cause is the CNI plugin's own error; the findings above often name it (IPAM_EXHAUSTED, CNI_BINARY_MISSING, FLANNEL_SUBNET_MISSING, BRIDGE_ADDRESS_MISMATCH). The kubelet retries each pod's sandbox on its own once the cause is gone."
            )
        }
    }

    static func span(_ group: SandboxFailureGroup) -> String {
        guard let first = group.first, let last = group.last else { return "" }
        return first == last ? " (at \(utc(first)))" : " (first \(utc(first)), last \(utc(last)))"
    }

    static func utc(_ seconds: Double) -> String { RFC3339.format(seconds: Int(seconds)) }
}

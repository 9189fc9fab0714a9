/// What kube-proxy's metrics listener says of its own syncs (`/metrics` on 127.0.0.1:10249):
/// when it last wrote its rules, when a change was last queued, how often a write failed.
public struct KubeProxyStatus: Sendable, Equatable {
    /// kubeproxy_sync_proxy_rules_last_timestamp_seconds: the last successful sync (Unix time).
    public var lastSync: Double?
    /// kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds: the last change waiting for one.
    public var lastQueued: Double?
    /// kubeproxy_sync_proxy_rules_iptables_restore_failures_total, or the nftables mode's
    /// kubeproxy_sync_proxy_rules_nftables_sync_failures_total.
    public var failures: Double?

    public init(lastSync: Double?, lastQueued: Double?, failures: Double?) {
        self.lastSync = lastSync
        self.lastQueued = lastQueued
        self.failures = failures
    }

    /// From the Prometheus text format; metrics with labels are summed.
    public static func parse(metrics text: String) -> KubeProxyStatus {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Double(parts[1]) else { continue }
            let name = parts[0].split(separator: "{", maxSplits: 1).first.map(String.init) ?? ""
            values[name, default: 0] += value
        }
        let failures = values["kubeproxy_sync_proxy_rules_iptables_restore_failures_total"]
            .map { $0 + (values["kubeproxy_sync_proxy_rules_nftables_sync_failures_total"] ?? 0) }
            ?? values["kubeproxy_sync_proxy_rules_nftables_sync_failures_total"]
        return KubeProxyStatus(lastSync: values["kubeproxy_sync_proxy_rules_last_timestamp_seconds"],
                               lastQueued: values["kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds"], failures: failures)
    }
}

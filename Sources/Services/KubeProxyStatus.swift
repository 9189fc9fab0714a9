import ConfigFormats

/// What kube-proxy's metrics listener says of its own syncs (`/metrics` on 127.0.0.1:10249):
/// when it last wrote its rules, when a change was last queued, how often a write failed.
public struct KubeProxyStatus: Sendable, Equatable {
    /// Its running configuration (`/configz`), where it answers.
    public var config: KubeProxyConfig?

    /// kubeproxy_sync_proxy_rules_last_timestamp_seconds: the last successful sync (Unix time).
    public var lastSync: Double?
    /// kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds: the last change waiting for one.
    public var lastQueued: Double?
    /// kubeproxy_sync_proxy_rules_iptables_restore_failures_total, or the nftables mode's
    /// kubeproxy_sync_proxy_rules_nftables_sync_failures_total.
    public var failures: Double?

    public init(lastSync: Double?, lastQueued: Double?, failures: Double?, config: KubeProxyConfig? = nil) {
        self.config = config
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

/// The parts of kube-proxy's running configuration (`/configz`: {"kubeproxy.config.k8s.io": …})
/// that decide masquerade: the cluster CIDR and how local traffic is told.
public struct KubeProxyConfig: Sendable, Equatable {
    public var clusterCIDR: String
    /// ClusterCIDR (default), NodeCIDR, BridgeInterface, InterfaceNamePrefix.
    public var detectLocalMode: String
    public var masqueradeAll: Bool

    public init(clusterCIDR: String, detectLocalMode: String, masqueradeAll: Bool) {
        self.clusterCIDR = clusterCIDR
        self.detectLocalMode = detectLocalMode
        self.masqueradeAll = masqueradeAll
    }

    public static func parse(json: [UInt8]) -> KubeProxyConfig? {
        guard let document = try? JSONParser.parse(bytes: json), let config = document["kubeproxy.config.k8s.io"] else { return nil }
        let iptables = config["iptables"]
        return KubeProxyConfig(clusterCIDR: config["clusterCIDR"]?.string ?? "", detectLocalMode: config["detectLocalMode"]?.string ?? "",
                               masqueradeAll: iptables?["masqueradeAll"]?.bool ?? false)
    }

    /// kube-proxy's local-traffic detector has nothing to go on: ClusterCIDR mode (the default)
    /// without a cluster CIDR. Its Service chains then carry no "masquerade off-cluster" rule.
    public var detectorMissing: Bool {
        !masqueradeAll && (detectLocalMode.isEmpty || detectLocalMode == "ClusterCIDR") && clusterCIDR.isEmpty
    }
}

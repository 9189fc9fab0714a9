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
        let failures =
            values["kubeproxy_sync_proxy_rules_iptables_restore_failures_total"]
            .map { $0 + (values["kubeproxy_sync_proxy_rules_nftables_sync_failures_total"] ?? 0) }
            ?? values["kubeproxy_sync_proxy_rules_nftables_sync_failures_total"]
        return KubeProxyStatus(
            lastSync: values["kubeproxy_sync_proxy_rules_last_timestamp_seconds"],
            lastQueued: values["kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds"], failures: failures)
    }
}

/// The parts of kube-proxy's running configuration (`/configz`: {"kubeproxy.config.k8s.io": …})
/// that decide masquerade: the cluster CIDRs and how local traffic is told.
///
/// kube-proxy serves its *internal* configuration type there, marshalled by encoding/json with
/// no tags, so the keys are Go field names, and their places moved between releases
/// (pkg/proxy/apis/config/types.go; CHANGELOG-1.24, -1.29, -1.31):
/// - before 1.24: `ClusterCIDR` (a string, "a,b" for dual-stack), `DetectLocalMode`,
///   `IPTables.MasqueradeAll`;
/// - 1.24–1.28: the same and `DetectLocal{BridgeInterface, InterfaceNamePrefix}`;
/// - 1.29–1.30: the same and an `NFTables` section (its own `MasqueradeAll`);
/// - 1.31 on: `DetectLocal.ClusterCIDRs` (a list) and no top-level `ClusterCIDR`;
///   `Linux.MasqueradeAll`.
/// A release serving the versioned type (v1alpha1: `clusterCIDR`, `iptables.masqueradeAll`)
/// is read too: keys are matched as encoding/json matches them, case-insensitively.
public struct KubeProxyConfig: Sendable, Equatable {
    /// nil: the document has no field that holds them (a shape not known here: not judged).
    public var clusterCIDRs: [String]?
    /// ClusterCIDR (default), NodeCIDR, BridgeInterface, InterfaceNamePrefix.
    public var detectLocalMode: String
    public var masqueradeAll: Bool
    /// Which releases write the shape seen ("1.31+: DetectLocal.ClusterCIDRs"), for evidence.
    public var shape: String

    public init(clusterCIDRs: [String]?, detectLocalMode: String, masqueradeAll: Bool, shape: String = "") {
        self.clusterCIDRs = clusterCIDRs
        self.detectLocalMode = detectLocalMode
        self.masqueradeAll = masqueradeAll
        self.shape = shape
    }

    /// The cluster CIDRs as one comma-separated string, as the flag takes them.
    public var clusterCIDR: String { clusterCIDRs?.joined(separator: ",") ?? "" }

    public static func parse(json: [UInt8]) -> KubeProxyConfig? {
        guard let document = try? JSONParser.parse(bytes: json), let config = document["kubeproxy.config.k8s.io"], config.object != nil
        else { return nil }
        let detectLocal = config.field("DetectLocal")
        let cidrs: [String]?
        let shape: String
        if let list = detectLocal?.field("ClusterCIDRs") {
            cidrs = list.array?.compactMap(\.string).filter { !$0.isEmpty } ?? []
            shape = "1.31+ (DetectLocal.ClusterCIDRs)"
        } else if let single = config.field("ClusterCIDR") {
            cidrs = (single.string ?? "").split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
            let versioned = config.object?.members.contains { $0.key == "clusterCIDR" } == true
            shape =
                versioned
                ? "the versioned type (clusterCIDR)"
                : config.field("NFTables") != nil
                    ? "1.29–1.30 (ClusterCIDR, NFTables)"
                    : detectLocal != nil ? "1.24–1.28 (ClusterCIDR, DetectLocal)" : "before 1.24 (ClusterCIDR)"
        } else {
            cidrs = nil
            shape = "unknown (no ClusterCIDR or DetectLocal.ClusterCIDRs field)"
        }
        let masqueradeAll =
            [config.field("Linux"), config.field("IPTables"), config.field("NFTables")]
            .contains { $0?.field("MasqueradeAll")?.bool == true } || config.field("MasqueradeAll")?.bool == true
        return KubeProxyConfig(
            clusterCIDRs: cidrs, detectLocalMode: config.field("DetectLocalMode")?.string ?? "",
            masqueradeAll: masqueradeAll, shape: shape)
    }

    /// kube-proxy's local-traffic detector has nothing to go on: ClusterCIDR mode (the default)
    /// without a cluster CIDR. Its Service chains then carry no "masquerade off-cluster" rule.
    /// A document whose shape is not known says nothing either way.
    public var detectorMissing: Bool {
        guard let clusterCIDRs else { return false }
        return !masqueradeAll && (detectLocalMode.isEmpty || detectLocalMode == "ClusterCIDR") && clusterCIDRs.isEmpty
    }
}

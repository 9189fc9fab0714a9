import Diagnosis
import NetAddress
import NetlinkCodec
import TestSupport
import Testing
@testable import Services

/// kube-proxy's own word (its metrics and running config) and the checks judged from it, pure.
@Suite("kube-proxy's metrics and config, and the checks on them")
struct KubeProxyStatusTests {
    static let metrics = """
        # HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds [ALPHA] The last time proxy rules were successfully synced
        # TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge
        kubeproxy_sync_proxy_rules_last_timestamp_seconds 1.7e+09
        kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds 1.7000003e+09
        kubeproxy_sync_proxy_rules_iptables_restore_failures_total 2
        kubeproxy_sync_proxy_rules_no_local_endpoints_total{traffic_policy="external"} 1
        """

    @Test("metrics: the last sync, the last queued change, the failures; a change waiting is an error, failures a warning")
    func stale() {
        let status = KubeProxyStatus.parse(metrics: Self.metrics)
        #expect(status.lastSync == 1.7e9 && status.lastQueued == 1.7000003e9 && status.failures == 2)
        let waiting = ServiceChecks.proxyStale(status, now: 1.7e9 + 600)
        #expect(waiting.map(\.severity) == [.error, .warning] && waiting.allSatisfy { $0.code == .proxyStale })
        // Current: synced after the change, a second ago, no failures.
        let fresh = KubeProxyStatus(lastSync: 1000, lastQueued: 999, failures: 0)
        #expect(ServiceChecks.proxyStale(fresh, now: 1001).isEmpty)
        #expect(ServiceChecks.proxyStale(KubeProxyStatus(lastSync: 1000, lastQueued: nil, failures: nil), now: 2000).count == 1)
        #expect(ServiceChecks.proxyStale(nil, now: 0).isEmpty)
        #expect(KubeProxyStatus.parse(metrics: "garbage\n{{{ 1\nx y z").lastSync == nil)
    }

    func configz(_ name: String) throws -> KubeProxyConfig {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/ServicesTests/Fixtures/\(name)"), "fixture \(name)")
        return try #require(KubeProxyConfig.parse(json: bytes))
    }

    /// /configz as kube-proxy serves it: its internal type with Go field names. 1.30's is the
    /// document a kind cluster served (published 2024-06, 'Taking a look at the Kube-Proxy API');
    /// 1.33's is the same cluster's fields as types.go has them since 1.31 (DetectLocal.ClusterCIDRs,
    /// Linux.MasqueradeAll, no top-level ClusterCIDR), dual-stack.
    @Test("configz in every shape kube-proxy serves: a healthy node's cluster CIDRs found, the release's shape named")
    func configzShapes() throws {
        let current = try configz("configz-1.33.json")
        #expect(current.clusterCIDRs == ["10.244.0.0/16", "fd00:10:244::/56"] && !current.detectorMissing)
        #expect(current.shape.hasPrefix("1.31+"), "\(current.shape)")
        let older = try configz("configz-1.30.json")
        #expect(older.clusterCIDRs == ["10.244.0.0/16"] && !older.detectorMissing && older.detectLocalMode == "ClusterCIDR")
        #expect(older.shape.hasPrefix("1.29–1.30"), "\(older.shape)")
        let table = ServiceTable(mode: .iptables, entries: [])
        #expect(ServiceChecks.masquerade(table, config: current).isEmpty && ServiceChecks.masquerade(table, config: older).isEmpty)
        // Before 1.24, and dual-stack's comma-separated flag value.
        let old = try #require(
            KubeProxyConfig.parse(
                json: Array(
                    #"{"kubeproxy.config.k8s.io": {"Mode": "ipvs", "ClusterCIDR": "10.244.0.0/16, fd00::/56", "IPTables": {"MasqueradeAll": false}}}"#
                        .utf8)))
        #expect(old.clusterCIDRs == ["10.244.0.0/16", "fd00::/56"] && old.shape.hasPrefix("before 1.24"))
        // 1.31+ without cluster CIDRs: the detector has nothing to go on, said with the shape.
        let none = try #require(
            KubeProxyConfig.parse(
                json: Array(
                    #"{"kubeproxy.config.k8s.io": {"Mode": "iptables", "DetectLocalMode": "ClusterCIDR", "DetectLocal": {"ClusterCIDRs": null}, "Linux": {"MasqueradeAll": false}}}"#
                        .utf8)))
        #expect(none.detectorMissing)
        let finding = try #require(ServiceChecks.masquerade(table, config: none).first)
        #expect(finding.evidence.contains { $0.contains("1.31+") }, "\(finding.evidence)")
        // masquerade-all (1.31+: under Linux) needs no detector.
        let all = try #require(
            KubeProxyConfig.parse(
                json: Array(#"{"kubeproxy.config.k8s.io": {"DetectLocal": {"ClusterCIDRs": []}, "Linux": {"MasqueradeAll": true}}}"#.utf8)))
        #expect(!all.detectorMissing)
        // A shape with neither field (a future release, a null entry): not judged.
        let unknown = try #require(KubeProxyConfig.parse(json: Array(#"{"kubeproxy.config.k8s.io": {"Mode": "nftables"}}"#.utf8)))
        #expect(!unknown.detectorMissing && unknown.clusterCIDRs == nil)
        #expect(KubeProxyConfig.parse(json: Array(#"{"kubeproxy.config.k8s.io": null}"#.utf8)) == nil)
    }

    @Test("configz: a ClusterCIDR detector without a cluster CIDR is MASQUERADE_MISSING; a missing rule is the error")
    func config() throws {
        let empty = try #require(
            KubeProxyConfig.parse(json: Array(#"{"kubeproxy.config.k8s.io": {"clusterCIDR": "", "detectLocalMode": "ClusterCIDR"}}"#.utf8)))
        #expect(empty.detectorMissing)
        let set = try #require(KubeProxyConfig.parse(json: Array(#"{"kubeproxy.config.k8s.io": {"clusterCIDR": "10.244.0.0/16"}}"#.utf8)))
        #expect(!set.detectorMissing)
        #expect(KubeProxyConfig.parse(json: Array("{}".utf8)) == nil)
        let table = ServiceTable(mode: .iptables, entries: [])
        #expect(ServiceChecks.masquerade(table, config: empty).map(\.severity) == [.warning])
        #expect(ServiceChecks.masquerade(table, config: set).isEmpty)
        let broken = ServiceTable(mode: .iptables, entries: [], masqueradeMissing: "nat KUBE-POSTROUTING has no MASQUERADE rule")
        #expect(ServiceChecks.masquerade(broken, config: empty).map(\.severity) == [.error])
    }

    @Test("hairpin: only when the source is an endpoint and its bridge port does not hairpin")
    func hairpin() {
        let source = IPAddress.parse("10.244.1.2")!
        let entry = ServiceEntry(
            name: ServicePortName(namespace: "default", name: "web", port: "http"), proto: "tcp",
            endpoints: [
                ServiceEndpoint(address: source, port: 8080, share: 0.5, rule: "KUBE-SEP-A"),
                ServiceEndpoint(address: IPAddress.parse("10.244.2.2")!, port: 8080, share: 0.5, rule: "KUBE-SEP-B"),
            ])
        #expect(ServiceChecks.hairpin(entry, source: source, hostInterface: "veth1", hairpin: false).first?.message.contains("50%") == true)
        #expect(ServiceChecks.hairpin(entry, source: source, hostInterface: "veth1", hairpin: true).isEmpty)
        #expect(ServiceChecks.hairpin(entry, source: source, hostInterface: "veth1", hairpin: nil).isEmpty)
        #expect(ServiceChecks.hairpin(entry, source: IPAddress.parse("10.244.1.3")!, hostInterface: "veth1", hairpin: false).isEmpty)
    }

    @Test("stale conntrack by kube-proxy's rule: a UDP entry to a Service whose reply source is no endpoint now")
    func staleConntrack() {
        let vip = IPAddress.parse("10.96.0.53")!
        let entry = ServiceEntry(
            name: ServicePortName(namespace: "default", name: "echo", port: "udp"), proto: "udp",
            frontends: [.clusterIP(vip, 53)],
            endpoints: [ServiceEndpoint(address: IPAddress.parse("10.244.1.2")!, port: 8080, rule: "KUBE-SEP-A")])
        let table = ServiceTable(mode: .iptables, entries: [entry])
        func connection(replyFrom: String, assured: Bool = false, timeout: UInt32? = nil) -> Conntrack.Entry {
            Conntrack.Entry(
                original: Conntrack.Tuple(
                    source: IPAddress.parse("10.244.1.3")!, destination: vip, proto: 17, sourcePort: 4000, destinationPort: 53),
                reply: Conntrack.Tuple(
                    source: IPAddress.parse(replyFrom)!, destination: IPAddress.parse("10.244.1.3")!, proto: 17,
                    sourcePort: 8080, destinationPort: 4000),
                status: Conntrack.Status.destinationNAT | (assured ? Conntrack.Status.assured : 0), timeoutSeconds: timeout)
        }
        #expect(ServiceChecks.staleConntrack([connection(replyFrom: "10.244.1.2")], table: table).isEmpty)
        let stale = ServiceChecks.staleConntrack(
            [connection(replyFrom: "10.244.2.99"), connection(replyFrom: "10.244.2.99")], table: table)
        #expect(stale.count == 1 && stale[0].code == .staleConntrack && stale[0].message.contains("2 UDP conntrack entries"))
        // Unreplied entries only wait to expire: a warning.
        #expect(stale[0].severity == .warning)
        // An assured entry refreshed within the last minute is a live flow, blackholed: an error.
        let live = ServiceChecks.staleConntrack([connection(replyFrom: "10.244.2.99", assured: true, timeout: 118)], table: table)
        #expect(live.map(\.severity) == [.error] && live[0].message.contains("live flow"), "\(live.map(\.message))")
        // Assured but quiet for over a minute: going away by itself.
        let quiet = ServiceChecks.staleConntrack([connection(replyFrom: "10.244.2.99", assured: true, timeout: 40)], table: table)
        #expect(quiet.map(\.severity) == [.warning])
    }
}

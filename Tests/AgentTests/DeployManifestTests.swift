import ConfigFormats
import Lab
import Trace
import YAMLFormat
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// deploy/: what the issue and docs/agent.md promise of the manifests, read as Kubernetes would.
@Suite("deploy/ manifests")
struct DeployManifestTests {
    func manifest(_ name: String) throws -> ConfigValue {
        let bytes = try #require(Repository.read(Repository.root + "/deploy/" + name))
        return try YAMLReader.parse(String(decoding: bytes, as: UTF8.self))
    }

    @Test(
        "the DaemonSet: privileged, host network and PID, the node's root read-only at /host with --root /host, the token Secret, every node"
    )
    func daemonSet() throws {
        let ds = try manifest("daemonset.yaml")
        #expect(ds["kind"]?.string == "DaemonSet")
        let pod = try #require(ds["spec"]?["template"]?["spec"])
        #expect(pod["hostNetwork"]?.bool == true)
        #expect(pod["hostPID"]?.bool == true)
        #expect(pod["serviceAccountName"]?.string == "netdoctor-agent")
        #expect(pod["automountServiceAccountToken"]?.bool == false)
        #expect(pod["tolerations"]?.array?.contains { $0["operator"]?.string == "Exists" && $0["key"] == nil } == true)
        let container = try #require(pod["containers"]?.array?.first)
        #expect(container["securityContext"]?["privileged"]?.bool == true)
        let args = container["args"]?.array?.compactMap(\.string) ?? []
        #expect(args.first == "agent")
        #expect(args.contains("--root=/host"))
        // Every address of the node (status.hostIPs: both families on a dual-stack node).
        #expect(args.contains("--listen=$(NODE_IPS)"))
        let env = container["env"]?.array ?? []
        #expect(env.contains { $0["name"]?.string == "NODE_IPS" && $0["valueFrom"]?["fieldRef"]?["fieldPath"]?.string == "status.hostIPs" })
        #expect(args.contains("--token-file=/etc/netdoctor/token"))
        let mounts = container["volumeMounts"]?.array ?? []
        #expect(mounts.contains { $0["mountPath"]?.string == "/host" && $0["readOnly"]?.bool == true })
        let volumes = pod["volumes"]?.array ?? []
        #expect(volumes.contains { $0["hostPath"]?["path"]?.string == "/" })
        #expect(volumes.contains { $0["secret"]?["secretName"]?.string == "netdoctor-agent-token" })
        #expect(container["readinessProbe"]?["httpGet"]?["path"]?.string == "/readyz")
        #expect(container["livenessProbe"]?["httpGet"]?["path"]?.string == "/healthz")
    }

    @Test("the agent's port is one number: the default traces look at, the lab's agents', the DaemonSet's")
    func agentPort() throws {
        #expect(LabPlan.agentPort == AgentDefaults.port)
        let container = try #require(manifest("daemonset.yaml")["spec"]?["template"]?["spec"]?["containers"]?.array?.first)
        #expect(container["ports"]?.array?.first?["containerPort"]?.int == AgentDefaults.port)
        #expect(container["livenessProbe"]?["httpGet"]?["port"]?.int == AgentDefaults.port)
    }

    @Test("the ServiceAccount mounts no API token, and nothing grants it API rights")
    func serviceAccount() throws {
        let account = try manifest("serviceaccount.yaml")
        #expect(account["kind"]?.string == "ServiceAccount")
        #expect(account["automountServiceAccountToken"]?.bool == false)
        let kustomization = try manifest("kustomization.yaml")
        let resources = kustomization["resources"]?.array?.compactMap(\.string) ?? []
        #expect(Set(resources) == ["namespace.yaml", "serviceaccount.yaml", "daemonset.yaml"])
        for file in resources {
            let kind = try manifest(file)["kind"]?.string ?? ""
            #expect(!["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].contains(kind))
        }
    }

    /// The metric names the watching agent exports (Sources/Watch/WatchMetrics.swift), with the
    /// suffixes Prometheus gives a histogram.
    static let exported = [
        "netdoctor_probe_duration_seconds_bucket", "netdoctor_probe_duration_seconds_sum", "netdoctor_probe_duration_seconds_count",
        "netdoctor_probe_failures_total", "netdoctor_path_mtu_bytes", "netdoctor_verdicts_total", "netdoctor_incidents_total",
        "netdoctor_watch_peers", "netdoctor_conntrack_entries", "netdoctor_conntrack_max", "netdoctor_neighbor_entries",
        "netdoctor_neighbor_gc_thresh3", "netdoctor_neighbor_table_fulls", "netdoctor_ipam_addresses", "netdoctor_check_findings",
    ]

    /// Every netdoctor_… name in a query.
    static func metricNames(_ expression: String) -> [String] {
        var names: [String] = []
        var rest = Substring(expression)
        while let start = rest.range(of: "netdoctor_") {
            let name = rest[start.lowerBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            names.append(String(name))
            rest = rest[start.upperBound...]
        }
        return names
    }

    @Test(
        "watching: the DaemonSet watches and keeps incidents on a hostPath; the PrometheusRule, PodMonitor and Grafana dashboard use only metrics the agent exports"
    )
    func monitoring() throws {
        let pod = try manifest("daemonset.yaml")["spec"]?["template"]?["spec"]
        let container = try #require(pod?["containers"]?.array?.first)
        let args = container["args"]?.array?.compactMap(\.string) ?? []
        #expect(args.contains("--watch") && args.contains("--incidents-file=/var/lib/netdoctor/incidents.json"))
        #expect(
            container["volumeMounts"]?.array?.contains { $0["mountPath"]?.string == "/var/lib/netdoctor" && $0["readOnly"]?.bool != true }
                == true)
        #expect(pod?["volumes"]?.array?.contains { $0["hostPath"]?["path"]?.string == "/var/lib/netdoctor" } == true)

        let rule = try manifest("monitoring/prometheusrule.yaml")
        #expect(rule["kind"]?.string == "PrometheusRule")
        let alerts = (rule["spec"]?["groups"]?.array ?? []).flatMap { $0["rules"]?.array ?? [] }
        #expect(alerts.count >= 5)
        for alert in alerts {
            let expression = try #require(alert["expr"]?.string)
            #expect(
                !Self.metricNames(expression).isEmpty && Self.metricNames(expression).allSatisfy(Self.exported.contains), "\(expression)")
            #expect(alert["alert"]?.string?.hasPrefix("Netdoctor") == true && alert["labels"]?["severity"] != nil)
        }
        // Prometheus' own checker on the rules (scripts/setup installs Debian's prometheus).
        let promtool = "/usr/bin/promtool"
        if NodeRoot("/").status(promtool) != nil || getenv("CI").map({ String(cString: $0) }) == "true" {
            let rules = NodeTree().write("/rules.json", JSONWriter.write(.fields([("groups", rule["spec"]?["groups"] ?? .null)])))
            let checked = ChildProcess.run(
                promtool, arguments: ["check", "rules", rules.path + "/rules.json"], environment: ["PATH=/usr/bin:/bin"],
                timeoutMilliseconds: 10_000)
            #expect(checked?.status == 0, "promtool check rules: \(checked?.outputText ?? "not run") \(checked?.errorText ?? "")")
        }
        let monitor = try manifest("monitoring/podmonitor.yaml")
        #expect(
            monitor["spec"]?["podMetricsEndpoints"]?.array?.first?["authorization"]?["credentials"]?["name"]?.string
                == "netdoctor-agent-token")

        let bytes = try #require(Repository.read(Repository.root + "/deploy/monitoring/grafana-dashboard.json"))
        let dashboard = try JSONParser.parse(bytes: bytes)
        let panels = dashboard["panels"]?.array ?? []
        #expect(panels.count >= 4)
        for panel in panels {
            for target in panel["targets"]?.array ?? [] {
                let expression = try #require(target["expr"]?.string)
                #expect(
                    !Self.metricNames(expression).isEmpty && Self.metricNames(expression).allSatisfy(Self.exported.contains),
                    "\(expression)")
            }
        }
        let titles = panels.compactMap { $0["title"]?.string?.lowercased() }
        for topic in ["path mtu", "latency", "code", "incidents"] { #expect(titles.contains { $0.contains(topic) }, "\(topic)") }
    }
}

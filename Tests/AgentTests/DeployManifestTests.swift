import ConfigFormats
import YAMLFormat
import NodeFiles
import TestSupport
import Testing

/// deploy/: what the issue and docs/agent.md promise of the manifests, read as Kubernetes would.
@Suite("deploy/ manifests")
struct DeployManifestTests {
    func manifest(_ name: String) throws -> ConfigValue {
        let bytes = try #require(Repository.read(Repository.root + "/deploy/" + name))
        return try YAMLReader.parse(String(decoding: bytes, as: UTF8.self))
    }

    @Test("the DaemonSet: privileged, host network and PID, the node's root read-only at /host with --root /host, the token Secret, every node")
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
}

import CNIDetection
import Diagnosis
import NodeFiles
import TestSupport
import Testing

/// Each scenario folder of the corpus placed as one node's conf dir, as a runtime would see it.
@Suite("Shared corpus scenarios, as whole nodes")
struct ScenarioTests {
    let harness = CorpusHarness()

    func report(_ dir: String) throws -> DetectCNIReport {
        let harness = try #require(harness, "the corpus is missing at \(Repository.corpus)")
        return harness.scenarioReport(dir)
    }

    @Test("crio-contrib: 10-crio-bridge wins, 11- is shadowed by name, loopback is not the pod network")
    func crioContrib() throws {
        let report = try report("cni/crio-contrib")
        #expect(report.active?.fileName == "10-crio-bridge.conflist")
        #expect(report.cniName == "crio-bridge")
        let multiple = try #require(report.findings(.cniMultipleConfigs).first)
        #expect(multiple.evidence.contains { $0.hasPrefix("11-crio-ipv4-bridge.conflist") && $0.contains("shadowed") })
        #expect(!multiple.evidence.contains { $0.hasPrefix("99-loopback") })
    }

    @Test("cilium chained on aws-cni: 05-cilium wins and shadows 10-aws by name")
    func ciliumAWS() throws {
        let report = try report("cni/cilium/aws-cni-chaining")
        #expect(report.active?.fileName == "05-cilium.conflist")
        #expect(report.cniName == "cilium")
        #expect(report.family?.chainingMode == "aws-cni")
        #expect(report.findings(.cniMultipleConfigs).first?.evidence.contains { $0.contains("same network name \"aws-cni\"") } == true)
    }

    @Test("cilium exclusive: the renamed calico file is ignored")
    func ciliumExclusive() throws {
        let report = try report("cni/cilium/exclusive-rename")
        #expect(report.active?.fileName == "05-cilium.conflist")
        #expect(report.ignoredFiles == ["10-calico.conflist.cilium_bak"])
        #expect(report.findings(.cniMultipleConfigs).isEmpty)
    }

    @Test("multus thick: multus wins and delegates to flannel's file")
    func multusThick() throws {
        let report = try report("cni/multus/thick-derived")
        #expect(report.cniName == "multus")
        #expect(report.family?.delegate?.family == "flannel")
        #expect(report.family?.delegate?.types == ["flannel", "portmap"])
        #expect(report.family?.encapsulation.value == .vxlan)
        #expect(report.findings(.cniMultipleConfigs).first?.hop == "/etc/cni/net.d/10-flannel.conflist")
    }

    @Test(
        "templates beside their rendered files are never loaded",
        arguments: [
            ("cni/calico/manifest-calico-yaml", "calico"), ("cni/kindnet", "kindnet"), ("cni/gke-netd", "gke-netd"),
            ("cni/weave/v2.8", "weave"), ("cni/canal", "canal"), ("cni/containerd/gce-conf-template", "ptp"),
        ])
    func templates(dir: String, family: String) throws {
        let report = try report(dir)
        #expect(report.cniName == family)
        #expect(!report.ignoredFiles.isEmpty)
        #expect(report.files.count == 1)
    }

    @Test("flannel's backend from net-conf.json: vxlan for kube-flannel, host-gw (none) for minikube")
    func flannelBackends() throws {
        #expect(try report("cni/flannel/kube-flannel").family?.encapsulation.value == .vxlan)
        #expect(try report("cni/flannel/minikube").family?.encapsulation.value == Encapsulation.none)
    }

    @Test("k3s: containerd's own dirs under /var/lib/rancher are followed")
    func k3s() throws {
        let harness = try #require(harness)
        let tree = NodeTree()
            .write(
                "/var/lib/rancher/k3s/agent/etc/containerd/config.toml", bytes: harness.bytes("runtime/containerd/k3s-derived/config.toml")
            )
            .write("/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist", bytes: harness.bytes("cni/k3s/10-flannel.conflist"))
            .plugins(["flannel", "portmap", "bandwidth", "bridge", "host-local"], in: "/var/lib/rancher/k3s/data/current/bin")
        let report = CNIDetector.detect(DetectionInput(root: tree.root, queryPlugins: false))
        #expect(report.runtime.confDir == "/var/lib/rancher/k3s/agent/etc/cni/net.d")
        #expect(report.cniName == "flannel")
        #expect(report.findings(.cniBinaryMissing).isEmpty)
        #expect(report.findings(.cniDirsNonDefault).count == 1)
    }

    @Test("kind's kubelet: unit drop-ins, /etc/default/kubelet and config.yaml together")
    func kindKubelet() throws {
        let harness = try #require(harness)
        let tree = NodeTree()
            .write("/etc/systemd/system/kubelet.service", "[Service]\nExecStart=/usr/bin/kubelet\n")
            .write(
                "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
                bytes: harness.bytes("kubelet/kind/kubelet.service.d/10-kubeadm.conf")
            )
            .write(
                "/etc/systemd/system/kubelet.service.d/11-kind.conf", bytes: harness.bytes("kubelet/kind/kubelet.service.d/11-kind.conf")
            )
            .write("/etc/default/kubelet", bytes: harness.bytes("kubelet/kind/default/kubelet"))
            .write("/var/lib/kubelet/config.yaml", bytes: harness.bytes("kubelet/kubeadm-defaulted/config.yaml"))
            .write("/var/lib/kubelet/kubeadm-flags.env", bytes: harness.bytes("kubelet/kubeadm-flags/k8s-issue-122632/kubeadm-flags.env"))
        let settings = KubeletReader.read(root: tree.root)
        let findings = KubeletChecks.findings(settings)
        #expect(settings.configPath == "/var/lib/kubelet/config.yaml")
        #expect(settings.clusterDNS == ["10.192.0.10"])
        #expect(settings.containerRuntimeEndpoint == "unix:///var/run/containerd/containerd.sock")
        #expect(settings.flags["--runtime-cgroups"] == "/system.slice/containerd.service")
    }
}

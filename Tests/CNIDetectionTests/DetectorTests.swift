#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import CNIDetection
import ConfigFormats
import Diagnosis
import NodeFiles
import TestSupport
import Testing

@Suite("detect-cni on realistic node trees")
struct DetectorTests {
    @Test("a healthy flannel node on containerd: everything read, no error")
    func healthyFlannel() {
        let tree = Fixtures.flannelNode()
        let report = Fixtures.detect(tree)
        #expect(report.errorCodes.isEmpty, "\(report.findings)")
        #expect(report.exitStatus == 0)
        #expect(report.cniName == "flannel")
        #expect(report.active?.nodePath == "/etc/cni/net.d/10-flannel.conflist")
        #expect(report.mtu == Sourced(1450, "/run/flannel/subnet.env (FLANNEL_MTU)"))
        #expect(report.family?.encapsulation.value == .vxlan)
        #expect(report.runtime.name == .containerd)
        #expect(report.runtime.configVersion == 2)
        #expect(report.kubelet.clusterDNS == ["10.96.0.10"])
        #expect(report.kubelet.maxPods == 110)
        let json = JSONWriter.write(report.json)
        for key in [
            "\"cni\": \"flannel\"", "\"activeConfig\": \"/etc/cni/net.d/10-flannel.conflist\"", "\"encapsulation\": \"vxlan\"",
            "\"mtu\": 1450", "\"maxConfNum\": 1", "\"containerRuntimeEndpoint\": \"unix:///run/containerd/containerd.sock\"",
        ] {
            #expect(json.contains(key), "\(key)")
        }
    }

    @Test("CNI_MTU_TOO_LARGE: a 1500 pod MTU over VXLAN on a 1500 uplink")
    func mtuTooLarge() throws {
        let report = Fixtures.detect(Fixtures.flannelNode(mtu: 1500), uplink: 1500)
        let finding = try #require(report.findings(.cniMTUTooLarge).first)
        #expect(finding.severity == .error)
        #expect(finding.message.contains("1450"))
        #expect(Fixtures.detect(Fixtures.flannelNode(mtu: 1450), uplink: 1500).findings(.cniMTUTooLarge).isEmpty)
        // A jumbo underlay carries it.
        #expect(Fixtures.detect(Fixtures.flannelNode(mtu: 1500), uplink: 9001).findings(.cniMTUTooLarge).isEmpty)
    }

    @Test("calico's mtu 0 resolves through /var/lib/calico/mtu")
    func calicoMTU() {
        let tree = NodeTree()
            .write("/etc/cni/net.d/10-calico.conflist", Fixtures.calicoConflist)
            .write("/var/lib/calico/mtu", "1480\n")
            .plugins(["calico", "calico-ipam", "portmap"])
        let report = Fixtures.detect(tree, uplink: 1500)
        #expect(report.cniName == "calico")
        #expect(report.mtu?.value == 1480)
        #expect(report.family?.encapsulation.value == .ipip)
        #expect(report.findings(.cniMTUTooLarge).isEmpty)  // 1500 - 20 = 1480
        #expect(Fixtures.detect(tree, uplink: 1400).findings(.cniMTUTooLarge).count == 1)
    }

    @Test("live overlay devices decide the encapsulation")
    func liveDevices() {
        let tree = NodeTree().write("/etc/cni/net.d/10-calico.conflist", Fixtures.calicoConflist)
        #expect(Fixtures.detect(tree, devices: ["vxlan.calico", "eth0"]).family?.encapsulation.value == .vxlan)
    }

    @Test("CNI_NO_CONFIG on an empty conf dir, in each runtime's words")
    func noConfig() throws {
        let containerd = Fixtures.detect(NodeTree().write("/etc/containerd/config.toml", Fixtures.containerdV2).directory("/etc/cni/net.d"))
        let finding = try #require(containerd.findings(.cniNoConfig).first)
        #expect(finding.severity == .error)
        #expect(finding.evidence.joined().contains("cni plugin not initialized"))
        #expect(containerd.cniName == "unknown")
        let crio = Fixtures.detect(NodeTree().write("/etc/crio/crio.conf", "[crio.network]\nnetwork_dir = \"/etc/cni/net.d/\"\n"))
        #expect(crio.findings(.cniNoConfig).first?.evidence.joined().contains("No CNI configuration file") == true)
    }

    @Test("a broken first file: containerd fails the whole load, CRI-O skips it")
    func brokenFile() throws {
        let broken = "{\n  \"cniVersion\": \"0.3.1\",\n  \"name\": \"x\",\n  \"plugins\": [{\"type\": \"bridge\",}]\n}"
        let containerd = Fixtures.flannelNode().write("/etc/cni/net.d/00-broken.conflist", broken)
        let report = Fixtures.detect(containerd)
        let finding = try #require(report.findings(.cniConfigInvalid).first)
        #expect(finding.severity == .error)
        #expect(finding.message.contains("fails the whole CNI load"))
        #expect(finding.evidence.first?.contains("/etc/cni/net.d/00-broken.conflist:4:") == true)
        #expect(report.active == nil)
        #expect(report.exitStatus == 1)

        let crio = Fixtures.flannelNode().write("/etc/cni/net.d/00-broken.conflist", broken)
            .write(
                "/var/lib/kubelet/config.yaml", Fixtures.kubeletConfig.replacingOccurrences("containerd/containerd.sock", "crio/crio.sock")
            )
            .write("/etc/crio/crio.conf", "[crio.network]\nplugin_dirs = [\"/opt/cni/bin\"]\n")
        let crioReport = Fixtures.detect(crio)
        #expect(crioReport.runtime.name == .crio)
        #expect(crioReport.findings(.cniConfigInvalid).first?.severity == .warning)
        #expect(crioReport.findings(.cniConfigInvalid).first?.message.contains("CRI-O skips it") == true)
        #expect(crioReport.active?.fileName == "10-flannel.conflist")
    }

    @Test("max_conf_num 0 loads every file, so a broken later file fails containerd too")
    func maxConfNumZero() {
        let tree = Fixtures.flannelNode()
            .write("/etc/cni/net.d/20-broken.conf", "{ not json")
            .write("/etc/containerd/config.toml", Fixtures.containerdV2 + "\n    max_conf_num = 0\n")
        let report = Fixtures.detect(tree)
        #expect(report.runtime.maxConfNum == 0)
        #expect(report.active == nil)
        let one = Fixtures.flannelNode().write("/etc/cni/net.d/20-broken.conf", "{ not json")
        let oneReport = Fixtures.detect(one)
        #expect(oneReport.active?.fileName == "10-flannel.conflist")
        #expect(oneReport.findings(.cniConfigInvalid).first?.severity == .warning)
    }

    @Test("CNI_BINARY_MISSING for a missing and a non-executable plugin")
    func binaryMissing() {
        let tree = Fixtures.flannelNode()
        NodeTree.removeTree(tree.path + "/opt/cni/bin/portmap")
        tree.write("/opt/cni/bin/flannel", "not executable", mode: 0o644)
        let findings = Fixtures.detect(tree).findings(.cniBinaryMissing)
        #expect(findings.count == 2)
        #expect(findings.contains { $0.message.contains("portmap") && $0.evidence.contains("/opt/cni/bin/portmap: not found") })
        #expect(findings.contains { $0.evidence.contains("/opt/cni/bin/flannel: not executable") })
    }

    @Test("bin dir symlinks resolve inside the node root")
    func symlinkedBinaries() {
        let tree = Fixtures.flannelNode()
        NodeTree.removeTree(tree.path + "/opt/cni/bin/flannel")
        tree.write("/usr/libexec/cni/flannel", "#!/bin/sh\n", mode: 0o755)
        tree.symlink("/opt/cni/bin/flannel", to: "/usr/libexec/cni/flannel")
        #expect(Fixtures.detect(tree).findings(.cniBinaryMissing).isEmpty)
    }

    @Test("CNI_MULTIPLE_CONFIGS and CNI_STALE_CONFIG: a leftover calico file wins over installed flannel")
    func staleConfig() throws {
        let tree = Fixtures.flannelNode().write("/etc/cni/net.d/05-calico.conflist", Fixtures.calicoConflist)
        let report = Fixtures.detect(tree)
        #expect(report.active?.fileName == "05-calico.conflist")
        let multiple = try #require(report.findings(.cniMultipleConfigs).first)
        #expect(multiple.severity == .warning)
        #expect(multiple.evidence.first?.contains("05-calico.conflist wins") == true)
        let stale = try #require(report.findings(.cniStaleConfig).first)
        #expect(stale.severity == .error)
        #expect(stale.message.contains("10-flannel.conflist"))
    }

    @Test("CNI_VERSION_UNSUPPORTED: unknown versions, old chains, and plugins that say no")
    func versions() {
        let unknown = Fixtures.flannelNode().write(
            "/etc/cni/net.d/10-flannel.conflist",
            Fixtures.flannelConflist.replacingOccurrences("0.3.1", "9.9.9"))
        #expect(Fixtures.detect(unknown).findings(.cniVersionUnsupported).count == 1)
        let old = Fixtures.flannelNode().write(
            "/etc/cni/net.d/10-flannel.conflist",
            Fixtures.flannelConflist.replacingOccurrences("0.3.1", "0.2.0"))
        #expect(Fixtures.detect(old).findings(.cniVersionUnsupported).first?.message.contains("chaining needs 0.3.0") == true)
        // Plugins from before CNI 0.4.0 answer VERSION without it (containernetworking/plugins#359).
        let tree = Fixtures.flannelNode().write(
            "/etc/cni/net.d/10-flannel.conflist",
            Fixtures.flannelConflist.replacingOccurrences("0.3.1", "0.4.0"))
        tree.write(
            "/opt/cni/bin/portmap",
            """
            #!/bin/sh
            [ "$CNI_COMMAND" = VERSION ] && echo '{"cniVersion":"0.3.1","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1"]}'
            """, mode: 0o755)
        let finding = Fixtures.detect(tree).findings(.cniVersionUnsupported).first
        #expect(finding?.message.contains("portmap does not support cniVersion 0.4.0") == true, "\(String(describing: finding))")
        #expect(finding?.evidence.first?.contains("supports 0.1.0, 0.2.0, 0.3.0, 0.3.1") == true)
    }

    @Test("containerd v3 with custom dirs and imports; version-1 configs are deprecated")
    func containerdVersions() {
        let tree = NodeTree()
            .write(
                "/etc/containerd/config.toml",
                """
                version = 3
                imports = ["/etc/containerd/conf.d/*.toml"]
                [plugins.'io.containerd.cri.v1.runtime'.cni]
                  bin_dirs = ["/opt/cni/bin", "/usr/libexec/cni"]
                """
            )
            .write(
                "/etc/containerd/conf.d/10-cni.toml",
                """
                [plugins.'io.containerd.cri.v1.runtime'.cni]
                  conf_dir = "/var/lib/cni/conf"
                """
            )
            .write("/var/lib/cni/conf/10-lab.conflist", Fixtures.bridgeConflist)
            .plugins(["bridge", "host-local"], in: "/usr/libexec/cni").plugins(["portmap"])
        let report = Fixtures.detect(tree)
        #expect(report.runtime.configVersion == 3)
        #expect(report.runtime.binDirs == ["/opt/cni/bin", "/usr/libexec/cni"])
        #expect(report.runtime.confDir == "/var/lib/cni/conf")
        #expect(report.runtime.filesRead == ["/etc/containerd/config.toml", "/etc/containerd/conf.d/10-cni.toml"])
        #expect(report.cniName == "bridge")
        #expect(report.findings(.cniBinaryMissing).isEmpty)
        #expect(report.findings(.cniDirsNonDefault).count == 1)

        let v1 = NodeTree().write("/etc/containerd/config.toml", "[plugins.cri.cni]\nconf_dir = \"/etc/cni/custom\"\n")
        let settings = ContainerdConfigReader.read(path: "/etc/containerd/config.toml", root: v1.root)
        var findings = RuntimeChecks.findings(settings)
        #expect(settings.configVersion == 1)
        #expect(settings.confDir == "/etc/cni/custom")
        #expect(findings.contains { $0.code == .runtimeConfigDeprecated })

        // CNI keys under another version's section are ignored by containerd.
        let misplaced = NodeTree().write(
            "/etc/containerd/config.toml", "version = 2\n[plugins.\"io.containerd.cri.v1.runtime\".cni]\nconf_dir = \"/x\"\n")
        let ignored = ContainerdConfigReader.read(path: "/etc/containerd/config.toml", root: misplaced.root)
        findings = RuntimeChecks.findings(ignored)
        #expect(ignored.confDir == "/etc/cni/net.d")
        #expect(findings.contains { $0.code == .runtimeConfigDeprecated && $0.severity == .error })
    }

    @Test("CRI-O: drop-ins override crio.conf, cni_default_network picks the network")
    func crio() {
        let tree = NodeTree()
            .write("/etc/crio/crio.conf", "[crio.network]\nnetwork_dir = \"/etc/cni/net.d/\"\nplugin_dir = \"/opt/cni/bin/\"\n")
            .write("/etc/crio/crio.conf.d/10-net.conf", "[crio.network]\ncni_default_network = \"lab\"\n")
            .write("/etc/cni/net.d/10-flannel.conflist", Fixtures.flannelConflist)
            .write("/etc/cni/net.d/20-lab.conflist", Fixtures.bridgeConflist)
            .plugins(["flannel", "portmap", "bridge", "host-local"])
        let report = Fixtures.detect(tree)
        #expect(report.runtime.name == .crio)
        #expect(report.runtime.defaultNetwork == "lab")
        #expect(report.runtime.maxConfNum == nil)
        #expect(report.active?.fileName == "20-lab.conflist")
        #expect(report.findings(.runtimeConfigDeprecated).count == 1)  // plugin_dir
    }

    @Test("RUNTIME_CONFIG_INVALID and KUBELET_CONFIG_INVALID give file and line")
    func invalidRuntimeAndKubelet() throws {
        let tree = Fixtures.flannelNode()
            .write("/etc/containerd/config.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = ${cni_bin_dir}\n")
            .write("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\nclusterDNS: [10.96.0.10\nmaxPods: 3\n")
        let report = Fixtures.detect(tree)
        let runtime = try #require(report.findings(.runtimeConfigInvalid).first)
        #expect(runtime.evidence.first?.hasPrefix("/etc/containerd/config.toml:3:") == true)
        #expect(runtime.evidence.contains { $0.contains("unrendered placeholder") })
        let kubelet = try #require(report.findings(.kubeletConfigInvalid).first)
        #expect(kubelet.evidence.first?.hasPrefix("/var/lib/kubelet/config.yaml:") == true)
        #expect(report.exitStatus == 1)
    }

    @Test("kubelet: unit, drop-ins, env files and flags merge as systemd and the kubelet merge them")
    func kubeletMerge() {
        let tree = Fixtures.flannelNode()
            .write("/lib/systemd/system/kubelet.service", "[Service]\nExecStart=/usr/bin/kubelet\n")
            .write(
                "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
                """
                [Service]
                Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
                EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
                EnvironmentFile=-/etc/default/kubelet
                ExecStart=
                ExecStart=/usr/bin/kubelet $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
                """
            )
            .write(
                "/var/lib/kubelet/kubeadm-flags.env",
                "KUBELET_KUBEADM_ARGS=\"--network-plugin=cni --pod-infra-container-image=registry.k8s.io/pause:3.9\"\n"
            )
            .write("/etc/default/kubelet", "KUBELET_EXTRA_ARGS=--max-pods=42 --container-runtime-endpoint=unix:///var/run/crio/crio.sock\n")
        let report = Fixtures.detect(tree)
        #expect(report.kubelet.maxPods == 42)  // flags win over the config file
        #expect(report.kubelet.environmentFiles == ["/var/lib/kubelet/kubeadm-flags.env", "/etc/default/kubelet"])
        #expect(report.findings(.kubeletFlagRemoved).first?.message.contains("--network-plugin") == true)
        // The endpoint names CRI-O, the node has only containerd's config.
        #expect(report.findings(.runtimeMismatch).count == 1)
    }

    @Test("bad input under the root: a directory, a huge file, a symlink loop, a FIFO, binary bytes")
    func badInput() throws {
        let tree = Fixtures.flannelNode()
        tree.directory("/etc/cni/net.d/05-dir.conflist")
        tree.write("/etc/cni/net.d/06-huge.conflist", String(repeating: " ", count: (1 << 20) + 10))
        tree.symlink("/etc/cni/net.d/07-loop.conflist", to: "/etc/cni/net.d/07-loop.conflist")
        tree.write("/etc/cni/net.d/08-binary.conf", bytes: (0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        tree.directory("/var/lib/kubelet/config.yaml.d")
        let report = Fixtures.detect(tree)
        #expect(report.active == nil)  // containerd stops at the first unreadable file
        let unreadable = report.findings.filter { $0.code == .nodeFileUnreadable || $0.code == .cniConfigInvalid }
        #expect(unreadable.contains { $0.evidence.joined().contains("larger than") })
        #expect(!report.files.contains { $0.fileName == "05-dir.conflist" })  // directories are not configs

        // A containerd config that is a directory, and a kubelet config that is a FIFO.
        let odd = NodeTree().directory("/etc/containerd/config.toml")
        odd.write("/etc/default/kubelet", "KUBELET_EXTRA_ARGS=--config=/var/lib/kubelet/fifo\n")
        odd.directory("/var/lib/kubelet")
        mkfifo(odd.path + "/var/lib/kubelet/fifo", 0o644)
        let oddReport = Fixtures.detect(odd)
        #expect(oddReport.findings.contains { $0.evidence.joined().contains("is a directory") })
        #expect(oddReport.findings.contains { $0.evidence.joined().contains("not a regular file") })
    }

    @Test("templates and backups are ignored, as libcni ignores them")
    func ignoredFiles() {
        let tree = Fixtures.flannelNode()
            .write("/etc/cni/net.d/05-cilium.conflist.tmpl", "{{ .X }}")
            .write("/etc/cni/net.d/10-calico.conflist.cilium_bak", Fixtures.calicoConflist)
        let report = Fixtures.detect(tree)
        #expect(report.ignoredFiles == ["05-cilium.conflist.tmpl", "10-calico.conflist.cilium_bak"])
        #expect(report.findings(.cniConfigIgnored).first?.severity == .info)
        #expect(report.active?.fileName == "10-flannel.conflist")
    }

    @Test("pods wired by an older network are reported from the result cache")
    func stalePods() {
        let config = "{\"cniVersion\":\"0.3.1\",\"name\":\"k8s-pod-network\",\"plugins\":[{\"type\":\"calico\"}]}"
        let encoded = base64(Array(config.utf8))
        let tree = Fixtures.flannelNode()
            .write(
                "/var/lib/cni/results/k8s-pod-network-abc-eth0",
                """
                {"kind":"cniCacheV1","containerId":"abc","config":"\(encoded)","ifName":"eth0","networkName":"k8s-pod-network",
                 "cniArgs":[["K8S_POD_NAMESPACE","default"],["K8S_POD_NAME","web"]],"result":{"cniVersion":"0.3.1","ips":[{"address":"10.244.1.5/24"}]}}
                """)
        let finding = Fixtures.detect(tree).findings(.cniStaleConfig).first
        #expect(finding?.severity == .warning)
        #expect(finding?.evidence.first?.contains("default/web on k8s-pod-network") == true)
    }

    func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let chunk = Array(bytes[i..<min(i + 3, bytes.count)]) + [0, 0]
            let n = (UInt32(chunk[0]) << 16) | (UInt32(chunk[1]) << 8) | UInt32(chunk[2])
            let count = min(3, bytes.count - i)
            for j in 0..<4 { out.append(j <= count ? table[Int((n >> (18 - 6 * UInt32(j))) & 63)] : "=") }
            i += 3
        }
        return out
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

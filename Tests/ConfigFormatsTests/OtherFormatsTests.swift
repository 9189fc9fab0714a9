import ConfigFormats
import YAMLFormat
import Testing

@Suite("YAML, TOML, env files, systemd units, flags")
struct OtherFormatsTests {
    @Test("YAML resolves scalars as the kubelet's decoder does")
    func yaml() throws {
        let value = try YAMLReader.parse(
            """
            kind: KubeletConfiguration
            clusterDNS:
            - 10.96.0.10
            maxPods: 110
            serializeImagePulls: false
            podCIDR: null
            """)
        #expect(value["clusterDNS"]?.array?.first?.string == "10.96.0.10")
        #expect(value["maxPods"]?.int == 110)
        #expect(value["serializeImagePulls"]?.bool == false)
        #expect(value["podCIDR"]?.isNull == true)
    }

    @Test("broken YAML says where")
    func yamlError() {
        do {
            _ = try YAMLReader.parse("a: 1\nb: [1, 2\nc: 3\n")
            Issue.record("parsed")
        } catch {
            #expect(error.line >= 2)
            #expect(!error.message.isEmpty)
        }
    }

    @Test("TOML tables and positions of errors")
    func toml() throws {
        let value = try TOMLReader.parse(
            """
            version = 2
            [plugins."io.containerd.grpc.v1.cri".cni]
              bin_dir = "/opt/cni/bin"
              max_conf_num = 1
            """)
        #expect(value["version"]?.int == 2)
        #expect(value["plugins"]?["io.containerd.grpc.v1.cri"]?["cni"]?["bin_dir"]?.string == "/opt/cni/bin")
        do {
            _ = try TOMLReader.parse("version = 2\nbin_dir = ${cni_bin_dir}\n")
            Issue.record("parsed")
        } catch {
            #expect(error.line == 2)
        }
        #expect(throws: ParseError.self) { try TOMLReader.parse("a = 1\u{0}") }
    }

    @Test("environment files as systemd reads them")
    func environmentFile() {
        let env = EnvironmentFile.parse(
            """
            # comment
            KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.9"
            KUBELET_EXTRA_ARGS=--node-ip=10.0.0.1 --max-pods=50
            CONT=a \\
            b
            not an assignment
            """)
        #expect(env["KUBELET_KUBEADM_ARGS"]?.hasPrefix("--container-runtime-endpoint") == true)
        #expect(env.assignments[1].quoted == false)
        #expect(env["KUBELET_EXTRA_ARGS"] == "--node-ip=10.0.0.1 --max-pods=50")
        #expect(env["CONT"] == "a  b")
        #expect(env.ignoredLines.map(\.line) == [6])
    }

    @Test("systemd units: sections, resets, wrapped comments")
    func systemdUnit() {
        let unit = SystemdUnit.parse(
            """
            [Service]
            Environment="A=--config=/var/lib/kubelet/config.yaml" "B=x y"
            ExecStart=
            ExecStart=/usr/bin/kubelet $A \\
                $B
            the KUBELET_KUBEADM_ARGS variable dynamically
            """)
        let exec = unit.values("ExecStart")
        #expect(exec.count == 2)
        #expect(exec[0].value.isEmpty)
        #expect(exec[1].value == "/usr/bin/kubelet $A      $B")
        #expect(unit.ignoredLines.count == 1)
        let env = SystemdUnit.environmentAssignments(unit.values("Environment")[0].value)
        #expect(env.map(\.key) == ["A", "B"])
        #expect(env[1].value == "x y")
    }

    @Test("flags: --a=b, --a b, lone booleans; variables expand")
    func flags() {
        let words = ShellWords.split(
            ShellWords.expand(
                "/usr/bin/kubelet ${X} --network-plugin cni --v=2 --fail-swap-on --pod-cidr '10.0.0.0/24'",
                variables: ["X": "--config=/c.yaml"]))
        let flags = CommandLineFlags(words: words)
        #expect(flags["--config"] == "/c.yaml")
        #expect(flags["--network-plugin"] == "cni")
        #expect(flags["--v"] == "2")
        #expect(flags["--fail-swap-on"] == "true")
        #expect(flags["--pod-cidr"] == "10.0.0.0/24")
    }
}

@Suite("TOML parser")
struct TOMLParserTests {
    @Test("the TOML that containerd and CRI-O configs use")
    func document() throws {
        let value = try TOMLReader.parse(
            """
            # containerd
            version = 3
            imports = ["/etc/containerd/conf.d/*.toml", 'lit\\eral']
            root = "/var/lib/containerd"
            [grpc]
              address = "/run/containerd/containerd.sock"
              max_recv_message_size = 16_777_216
            [plugins]
              [plugins.'io.containerd.cri.v1.runtime']
                enable_selinux = false
                [plugins.'io.containerd.cri.v1.runtime'.cni]
                  bin_dirs = [
                    "/opt/cni/bin",  # comment
                    "/usr/libexec/cni",
                  ]
                  conf_dir = "/etc/cni/net.d"
                  max_conf_num = 1
            [[proxy_plugins.x]]
              type = "snapshot"
            [[proxy_plugins.x]]
              type = "content"
            [timeouts]
              "io.containerd.timeout.shim.cleanup" = "5s"
            inline = { a = 1, b.c = "d" }
            when = 1979-05-27T07:32:00Z
            hex = 0xff
            float = -1.5e3
            multi = \"\"\"
            one \\
              two\"\"\"
            lit = '''
            raw\\n'''
            """)
        let cni = value["plugins"]?["io.containerd.cri.v1.runtime"]?["cni"]
        #expect(value["version"]?.int == 3)
        #expect(value["imports"]?.array?.compactMap(\.string) == ["/etc/containerd/conf.d/*.toml", "lit\\eral"])
        #expect(value["grpc"]?["max_recv_message_size"]?.int == 16_777_216)
        #expect(cni?["bin_dirs"]?.array?.compactMap(\.string) == ["/opt/cni/bin", "/usr/libexec/cni"])
        #expect(cni?["max_conf_num"]?.int == 1)
        #expect(value["proxy_plugins"]?["x"]?.array?.count == 2)
        #expect(value["timeouts"]?["io.containerd.timeout.shim.cleanup"]?.string == "5s")
        #expect(value["timeouts"]?["inline"]?["b"]?["c"]?.string == "d")
        #expect(value["timeouts"]?["when"]?.string == "1979-05-27T07:32:00Z")
        #expect(value["timeouts"]?["hex"]?.int == 255)
        #expect(value["timeouts"]?["float"]?.double == -1500)
        #expect(value["timeouts"]?["multi"]?.string == "one two")
        #expect(value["timeouts"]?["lit"]?.string == "raw\\n")
    }

    @Test(
        "invalid TOML gives line and column",
        arguments: [
            ("a = 1\na = 2\n", 2, "duplicate key"),
            ("[t]\n[t]\n", 2, "defined twice"),
            ("bin_dir = ${cni_bin_dir}\n", 1, "invalid value"),
            ("conf_dir = \"{{ .Dir }}\"\nmax = {{ .N }}\n", 2, "expected a key"),
            ("[\n{\"path\": 1}\n", 1, "expected a key"),
            ("a = \"unterminated\n", 1, "newline"),
            ("a = [1, 2\n", 2, "unterminated array"),
            ("a = 07\n", 1, "invalid value"),
            ("a = 1 b = 2\n", 1, "end of the line"),
        ])
    func errors(text: String, line: Int, message: String) {
        do {
            _ = try TOMLReader.parse(text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}

import ConfigFormats
import NodeFiles
import TestSupport
import Testing

@Suite("The netdoctor command line")
struct CLITests {
    @Test("--help and --version exit 0")
    func help() throws {
        let help = try Binary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.outputText.contains("detect-cni"))
        let version = try Binary.run(["--version"])
        #expect(version.status == 0)
        #expect(!version.outputText.isEmpty)
    }

    @Test(
        "bad usage: one line on stderr, exit 2",
        arguments: [
            ["detect-cni", "--bogus"], ["no-such-command"], ["detect-cni", "--output", "xml"], ["detect-cni", "--uplink-mtu", "5"],
            ["explain", "NOT_A_CODE"],
            ["trace", "pod-a"], ["trace", "pod-a", "pod-b", "--protocol", "udp"],
            ["trace", "pod-a", "pod-b", "--port", "80", "--protocol", "icmp"],
            ["trace", "pod-a", "pod-b", "--timeout", "0"],
            // HOSTILE-INPUT 9: only finite, bounded stop conditions.
            ["capture", "node:lo", "--duration", "nan"], ["capture", "node:lo", "--duration", "inf"],
            ["capture", "node:lo", "--duration", "1e10"], ["capture", "node:lo", "--duration", "9000000000"],
            ["capture", "node:lo", "--duration", "1e300"], ["capture", "node:lo", "--duration", "-1"],
            ["capture", "node:lo", "--count", "0"], ["capture", "node:lo", "--count", "2000000000"],
        ])
    func badUsage(arguments: [String]) throws {
        let result = try Binary.run(arguments)
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        let lines = result.errorText.split(separator: "\n")
        #expect(lines.count == 1, "\(result.errorText)")
        #expect(lines.first?.hasPrefix("netdoctor: ") == true)
    }

    @Test("a node root that does not exist is bad input (2), by flag or NETDOCTOR_ROOT")
    func missingRoot() throws {
        let byFlag = try Binary.run(["detect-cni", "--root", "/nonexistent/node"])
        #expect(byFlag.status == 2)
        #expect(byFlag.errorText.contains("/nonexistent/node"))
        let byEnv = try Binary.run(["detect-cni"], environment: ["NETDOCTOR_ROOT=/nonexistent/env"])
        #expect(byEnv.status == 2)
        #expect(byEnv.errorText.contains("/nonexistent/env"))
    }

    @Test("--output json: one JSON document on stdout with the contract's keys; exit 0 when healthy")
    func json() throws {
        let tree = healthyNode()
        let result = try Binary.run(["detect-cni", "--root", tree.path, "-o", "json", "--uplink-mtu", "1500"])
        #expect(result.status == 0, "\(result.outputText)")
        #expect(result.errorOutput.isEmpty)
        let value = try JSONParser.parse(bytes: result.output)
        #expect(value["command"]?.string == "detect-cni")
        #expect(value["cni"]?.string == "bridge")
        #expect(value["activeConfig"]?.string == "/etc/cni/net.d/10-lab.conflist")
        #expect(value["plugins"]?.array?.compactMap(\.string) == ["bridge", "portmap"])
        #expect(value["mtu"]?.int == 1450)
        #expect(value["encapsulation"]?.string == "none")
        #expect(value["runtime"]?["name"]?.string == "containerd")
        #expect(value["runtime"]?["binDirs"]?.array?.count == 1)
        #expect(value["kubelet"]?["clusterDNS"]?.array?.first?.string == "10.96.0.10")
        for finding in value["findings"]?.array ?? [] {
            #expect(finding.object?.keys == ["code", "severity", "message", "hop", "evidence", "remedy"])
        }
    }

    @Test("NETDOCTOR_ROOT is used when --root is absent")
    func environmentRoot() throws {
        let tree = healthyNode()
        let result = try Binary.run(["detect-cni", "-o", "json", "--uplink-mtu", "1500"], environment: ["NETDOCTOR_ROOT=\(tree.path)"])
        #expect(result.status == 0)
        #expect(try JSONParser.parse(bytes: result.output)["root"]?.string == tree.path)
    }

    @Test("a problem of severity error exits 1, and the human report shows evidence and remedy without colour codes")
    func humanReport() throws {
        let tree = healthyNode()
        tree.write("/etc/cni/net.d/00-broken.conflist", "{\"name\": \"x\",}")
        let result = try Binary.run(["detect-cni", "--root", tree.path, "--uplink-mtu", "1500"], environment: ["NO_COLOR=1"])
        #expect(result.status == 1)
        #expect(result.outputText.contains("CNI_CONFIG_INVALID"))
        #expect(result.outputText.contains("seen:  /etc/cni/net.d/00-broken.conflist:1:"))
        #expect(result.outputText.contains("fix:"))
        #expect(!result.outputText.contains("\u{1B}["))
    }

    @Test(
        "completion scripts match what the current build generates",
        arguments: [
            ("bash", "completions/netdoctor.bash"), ("zsh", "completions/netdoctor.zsh"), ("fish", "completions/netdoctor.fish"),
        ])
    func completions(shell: String, file: String) throws {
        let generated = try Binary.run(["--generate-completion-script", shell])
        #expect(generated.status == 0)
        let committed = try #require(Repository.read(Repository.root + "/" + file), "\(file) is missing")
        let upToDate = generated.output == committed
        #expect(upToDate, "\(file) is stale: run scripts/gen-docs")
    }

    @Test("netdoctor-lab makes its own completion scripts, for its own name", arguments: ["bash", "zsh", "fish"])
    func labCompletions(shell: String) throws {
        let generated = try #require(
            ChildProcess.run(
                Binary.path + "-lab", arguments: ["--generate-completion-script", shell], environment: [], timeoutMilliseconds: 20_000))
        #expect(generated.status == 0)
        #expect(generated.outputText.contains("netdoctor-lab") && generated.outputText.contains("break"))
    }

    @Test("docs/findings.md is the catalogue the binary prints, and the man page covers every command")
    func docs() throws {
        let generated = try Binary.run(["explain", "--markdown"])
        let committed = try #require(Repository.read(Repository.root + "/docs/findings.md"))
        let upToDate = generated.output == committed
        #expect(upToDate, "docs/findings.md is stale: run scripts/gen-docs")
        let manual = String(decoding: try #require(Repository.read(Repository.root + "/docs/netdoctor.1")), as: UTF8.self)
        let help = try Binary.run(["--experimental-dump-help"])
        let tool = try JSONParser.parse(bytes: help.output)
        for command in tool["command"]?["subcommands"]?.array ?? [] {
            let name = try #require(command["commandName"]?.string)
            #expect(manual.contains(name), "man page lacks \(name): run scripts/gen-docs")
            for argument in command["arguments"]?.array ?? [] {
                if let long = argument["names"]?.array?.first(where: { $0["kind"]?.string == "long" })?["name"]?.string {
                    #expect(manual.contains(" -\(long)"), "man page lacks --\(long) of \(name)")
                }
            }
        }
    }

    @Test("netdoctor lab runs netdoctor-lab, installed beside it, with the same words; without it, one line and status 3")
    func labApart() throws {
        let status = try Binary.run(["lab", "status", "-o", "json"])
        #expect(status.status == 0, "\(status.errorText)")
        #expect(try JSONParser.parse(bytes: status.output)["command"]?.string == "lab")
        let help = try Binary.run(["lab", "--help"])
        #expect(help.outputText.contains("netdoctor-lab lab"), "the lab's own help: \(help.outputText.prefix(200))")
        let missing = try Binary.run(["lab", "status"], environment: ["NETDOCTOR_LAB=/nonexistent/netdoctor-lab"])
        #expect(missing.status == 3)
        #expect(missing.errorText.split(separator: "\n").count == 1)
        // The product links none of the lab: its binary holds no symbol of the Lab module.
        let symbols = try #require(
            ChildProcess.run("/usr/bin/nm", arguments: ["--defined-only", Binary.path], environment: [], timeoutMilliseconds: 60_000))
        #expect(!symbols.outputText.contains("$s3Lab"), "the Lab module is linked into netdoctor")
    }

    @Test("explain prints a code's entry")
    func explain() throws {
        let result = try Binary.run(["explain", "cni_binary_missing"])
        #expect(result.status == 0)
        #expect(result.outputText.hasPrefix("CNI_BINARY_MISSING"))
        #expect(result.outputText.contains("What to do:"))
    }

    func healthyNode() -> NodeTree {
        NodeTree()
            .write(
                "/etc/containerd/config.toml", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"/opt/cni/bin\"\n"
            )
            .write(
                "/var/lib/kubelet/config.yaml",
                "kind: KubeletConfiguration\nclusterDNS: [10.96.0.10]\ncontainerRuntimeEndpoint: unix:///run/containerd/containerd.sock\n"
            )
            .write(
                "/etc/cni/net.d/10-lab.conflist",
                """
                {"cniVersion": "1.0.0", "name": "lab", "plugins": [
                  {"type": "bridge", "bridge": "cni0", "isGateway": true, "mtu": 1450,
                   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.1.0/24"}]]}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}
                """
            )
            .plugins(["bridge", "host-local", "portmap"])
    }
}

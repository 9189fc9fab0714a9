import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    @Suite("Privileged: capture on the lab")
    struct CaptureLabTests {
        /// Starts a capture on node1 in the background, waits until it captures, runs `traffic`,
        /// then stops it with `signal` (or lets --count/--duration end it) and returns its output.
        /// `lab exec` execs ip, which execs the command: $pid is netdoctor itself.
        func capture(_ arguments: [String], traffic: String, signal: String? = "INT") throws -> (status: String, stdout: String) {
            let tree = NodeTree()
            let out = tree.path + "/out", err = tree.path + "/err", rc = tree.path + "/rc"
            let command = (["'\(Binary.path)'", "lab", "exec", "node1", "--", "netdoctor", "capture"] + arguments.map { "'\($0)'" }).joined(
                separator: " ")
            let script = """
                \(command) >\(out) 2>\(err) & pid=$!
                for i in $(seq 1 100); do grep -q 'capturing at' \(err) 2>/dev/null && break; sleep 0.05; done
                \(traffic)
                sleep 0.3
                \(signal.map { "kill -\($0) $pid" } ?? "")
                wait $pid; echo $? > \(rc)
                """
            _ = try sh(["sh", "-c", script], timeout: 60_000)
            return ((try? NodeRoot("/").readText(rc)) ?? "", (try? NodeRoot("/").readText(out)) ?? "")
        }

        func tshark(_ file: String, _ fields: [String]) throws -> [[String]] {
            let out = try sh(["tshark", "-r", file, "-d", "udp.port==8472,vxlan", "-T", "fields"] + fields.flatMap { ["-e", $0] })
            return out.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        }

        @Test("one point: every echo of pod-a, read back by tshark with its interface name")
        func onePoint() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let file = NodeTree()
            let path = file.path + "/one.pcapng"
            let (status, stdout) = try capture(
                ["pod-a", "--filter", "icmp", "--write", path, "-o", "json"],
                traffic: "\(Binary.path) lab exec pod-a -- ping -c 4 -i 0.1 10.244.1.3 >/dev/null")
            #expect(status.hasPrefix("0"))
            #expect(try JSONParser.parse(stdout)["packets"]?.int == 8)
            let frames = try tshark(path, ["frame.interface_name", "icmp.type"])
            #expect(frames.count == 8)
            #expect(frames.allSatisfy { $0.first == "pod-a:eth0" })
            #expect(frames.filter { $0.last == "8" }.count == 4)
        }

        @Test("four points along a cross-node path: pod eth0, bridge, overlay, underlay with the VXLAN frames, in time order")
        func fourPoints() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let file = NodeTree()
            let path = file.path + "/four.pcapng"
            let (status, _) = try capture(
                [
                    "pod-a", "node:cni0", "node:flannel.1", "node:eth0", "--filter", "icmp or udp port 8472",
                    "--count", "24", "--write", path,
                ],
                traffic: "\(Binary.path) lab exec pod-a -- ping -c 3 -i 0.1 10.244.2.2 >/dev/null", signal: nil)
            #expect(status.hasPrefix("0"))
            let frames = try tshark(path, ["frame.interface_name", "frame.time_epoch", "vxlan.vni", "icmp.type"])
            #expect(frames.count == 24)
            for name in ["pod-a:eth0", "node:cni0", "node:flannel.1", "node:eth0"] {
                #expect(frames.filter { $0[0] == name }.count == 6, "\(name)")
            }
            let underlay = frames.filter { $0[0] == "node:eth0" }
            #expect(underlay.allSatisfy { $0[2] == "1" })  // VXLAN, VNI 1, ICMP inside
            #expect(underlay.allSatisfy { $0[3] == "8" || $0[3] == "0" })
            let times = frames.compactMap { Double($0[1]) }
            #expect(times == times.sorted())
        }

        @Test("SIGINT, SIGTERM and SIGHUP mid-capture keep every packet, and the file is complete", arguments: ["INT", "TERM", "HUP"])
        func interrupted(signal: String) throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let file = NodeTree()
            let path = file.path + "/int.pcapng"
            let (status, _) = try capture(
                ["pod-a", "node:eth0", "--filter", "icmp or udp port 8472", "--write", path],
                traffic: "\(Binary.path) lab exec pod-a -- ping -c 20 -i 0.02 10.244.2.2 >/dev/null", signal: signal)
            #expect(status.hasPrefix("0"))
            let frames = try tshark(path, ["frame.interface_name"])
            #expect(frames.filter { $0[0] == "pod-a:eth0" }.count == 40)
            #expect(frames.filter { $0[0] == "node:eth0" }.count == 40)
            let info = try sh(["capinfos", "-M", path])
            #expect(info.contains("pcapng"))
        }

        @Test("a closed standard output (| head) ends a live capture, as tcpdump does")
        func closedOutput() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let started = Clock.now()
            let script = """
                '\(Binary.path)' lab exec pod-b -- ping -i 0.05 -w 10 10.244.1.2 >/dev/null 2>&1 & ping=$!
                timeout 15 '\(Binary.path)' lab exec node1 -- netdoctor capture pod-a --filter icmp | head -n 2 >/dev/null
                echo "${PIPESTATUS[0]}"
                kill $ping 2>/dev/null; true
                """
            let status = try sh(["bash", "-c", script], timeout: 30_000)
            #expect(status.hasPrefix("0"), "capture exit \(status) (124: still running at 15 s)")
            #expect(Clock.now() - started < 10)
        }

        @Test(
            "a full disk under a flood (HOSTILE-INPUT 1): exit 3, one line, a valid file of whole packets, bounded memory",
            arguments: [["pod-a"], ["pod-a", "pod-b"]])
        func fullDisk(targets: [String]) throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let tree = NodeTree()
            let mount = tree.path + "/full"
            _ = try sh(["mkdir", "-p", mount])
            _ = try sh(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount])
            defer { _ = try? sh(["umount", mount]) }
            let file = mount + "/x.pcapng"
            let script = """
                '\(Binary.path)' lab exec pod-b -- ping -f -w 8 -s 1400 10.244.1.2 >/dev/null 2>&1 &
                /usr/bin/time -f %M -o '\(tree.path)/rss' '\(Binary.path)' lab exec node1 -- netdoctor capture \(targets.joined(separator: " ")) \
                  --write '\(file)' --duration 8 2>'\(tree.path)/err'; echo $? > '\(tree.path)/rc'
                wait
                """
            _ = try sh(["sh", "-c", script], timeout: 60_000)
            let status = try NodeRoot("/").readText(tree.path + "/rc").split(separator: "\n").first.map(String.init)
            let stderr = try NodeRoot("/").readText(tree.path + "/err")
            #expect(status == "3", "\(stderr)")
            let lines = stderr.split(separator: "\n").filter { !$0.hasPrefix("netdoctor: capturing at") }
            #expect(
                lines.count == 1 && lines[0].contains("No space left on device") && lines[0].contains("packets, each whole"), "\(stderr)")
            // tshark reads the file to its end without complaint: whole blocks only.
            let read = ChildProcess.run(
                "/usr/bin/tshark", arguments: ["-r", file], environment: ["PATH=/usr/bin:/bin"], timeoutMilliseconds: 60_000)
            let complaints = (read?.errorText ?? "").split(separator: "\n").filter { !$0.contains("Running as user") }
            #expect(read?.status == 0 && complaints.isEmpty, "\(complaints)")
            #expect((read?.outputText.split(separator: "\n").count ?? 0) > 100)
            let rss = Int(try NodeRoot("/").readText(tree.path + "/rss").split(separator: "\n").last ?? "") ?? .max
            // Bounded, not growing with the flood: one point writes from libpcap's ring; several hold
            // the reorder window's packets (measured: ~60 MiB for one point, ~280 MiB for two).
            #expect(rss < 512_000, "peak RSS \(rss) KiB")
        }

        @Test("bad input: a bad filter, an unknown pod or interface, an unwritable file (2), no privileges (3); no file left")
        func badInput() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }
            let file = NodeTree()
            let path = file.path + "/never.pcapng"
            let cases: [([String], Int32, String)] = [
                (["pod-a", "--filter", "icmp and", "--write", path], 2, "bad capture filter"),
                (["no-such-pod", "--write", path], 2, "no pod no-such-pod"),
                (["pod-a:eth9", "--write", path], 2, "no interface eth9"),
                (["node:nope0", "--write", path], 2, "no interface nope0"),
                (["pod-a", "--write", "/nonexistent/dir/x.pcapng", "--duration", "0.2"], 2, "cannot write"),
            ]
            for (arguments, status, message) in cases {
                let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "capture"] + arguments)
                #expect(result.status == status, "\(arguments): \(result.errorText)")
                #expect(result.errorText.contains(message), "\(arguments): \(result.errorText)")
                #expect(result.errorText.split(separator: "\n").count == 1, "\(result.errorText)")
                #expect(NodeRoot("/").status(path) == nil)
            }
            let unprivileged = try Binary.run([
                "lab", "exec", "node1", "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", Binary.path, "capture", "node:eth0", "--duration", "0.2",
            ])
            #expect(unprivileged.status == 3, "\(unprivileged.errorText)")
            #expect(unprivileged.errorText.split(separator: "\n").count == 1)
        }
    }
}

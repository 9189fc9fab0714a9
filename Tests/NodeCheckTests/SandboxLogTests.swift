import ConfigFormats
import Diagnosis
import NodeCheck
import TestSupport
import Testing
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

@Suite("check: failed sandboxes from the runtime's and the kubelet's logs, as each release words them")
struct SandboxLogTests {
    static let fixtures = Repository.root + "/Tests/NodeCheckTests/Fixtures"

    // Lines as public issues quote them (containerd 1.7's logrus text, 2.2's protobuf text,
    // kubelet's klog, CRI-O's error as its event carries it).
    static let containerd17 =
        #"time="2024-11-21T07:25:50.590372815Z" level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:web-7f9c,Uid:153c6847d61a86788cd0d5288d47f732,Namespace:shop,Attempt:0,} failed, error" error="failed to setup network for sandbox \"4b1f0c8a2d6e4f1a9c3b5d7e9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a\": plugin type=\"bridge\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.2.1-10.244.2.254""#
    static let containerd22 =
        #"time="2026-08-21T07:28:16.900956920+08:00" level=error msg="RunPodSandbox for name:\"xwing\"  uid:\"efa146e2-0e40-4984-a1d0-0f0d745d3440\"  namespace:\"default\" failed, error" error="failed to setup network for sandbox \"9d2d48a4c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5\": plugin type=\"flannel\" failed (add): open /run/flannel/subnet.env: no such file or directory""#
    static let kubelet =
        #"E1121 07:25:50.590569    5721 kuberuntime_sandbox.go:72] "Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"4b1f0c8a2d6e4f1a9c3b5d7e9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a\": plugin type=\"bridge\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.2.1-10.244.2.254" pod="shop/web-7f9c""#
    static let kubeletEcho =
        #"E1121 07:25:50.590580    5721 kuberuntime_manager.go:1170] "CreatePodSandbox for pod failed" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"4b1f0c8a2d6e4f1a9c3b5d7e9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a\": plugin type=\"bridge\" failed (add): x" pod="shop/web-7f9c""#
    static let crio =
        #"Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create pod network sandbox k8s_nginx-5dc684ffb4-zh2qs_default_e46515c3-905f-46cf-addf-637cf283d72e_0(c8c7f429b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5): error adding pod default_nginx-5dc684ffb4-zh2qs to CNI network "cbr0": plugin type="flannel" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.2.1-10.244.2.126"#

    @Test("each writer's line gives the cause in the plugin's words, the pod and the sandbox")
    func lines() throws {
        let a = try #require(SandboxLog.failure(in: Self.containerd17[...], time: nil, source: "f"))
        #expect(
            a.cause
                == #"plugin type="bridge" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.2.1-10.244.2.254"#
        )
        #expect(a.pod == "shop/web-7f9c")
        #expect(a.sandbox?.hasPrefix("4b1f0c8a") == true)
        #expect(a.time == 1_732_173_950.590372815)
        let b = try #require(SandboxLog.failure(in: Self.containerd22[...], time: nil, source: "f"))
        #expect(b.pod == "default/xwing")
        #expect(b.cause == #"plugin type="flannel" failed (add): open /run/flannel/subnet.env: no such file or directory"#)
        #expect(b.time == 1_787_268_496.900956920)  // 07:28:16 at +08:00 is 23:28:16 UTC the day before
        let k = try #require(SandboxLog.failure(in: Self.kubelet[...], time: 5, source: "j"))
        #expect(k.pod == "shop/web-7f9c" && k.cause == a.cause && k.sandbox == a.sandbox && k.time == 5)
        #expect(SandboxLog.failure(in: Self.kubeletEcho[...], time: nil, source: "j") == nil)
        let c = try #require(SandboxLog.failure(in: Self.crio[...], time: nil, source: "j"))
        #expect(c.pod == "default_nginx-5dc684ffb4-zh2qs")
        #expect(c.cause.hasSuffix("no IP addresses available in range set: 10.244.2.1-10.244.2.126"))
        #expect(c.sandbox?.hasPrefix("c8c7f429") == true)
        // Other lines, and hostile ones: nothing, and nothing forged on a terminal.
        #expect(SandboxLog.failure(in: #"level=info msg="RunPodSandbox for &PodSandboxMetadata{Name:a,}""#, time: nil, source: "f") == nil)
        let escape = SandboxLog.failure(
            in: "failed to setup network for sandbox \"x\": \u{1B}[2J\u{1B}]0;owned\u{7}gone"[...], time: nil, source: "f")
        #expect(escape?.cause.contains("\u{1B}") == false)
    }

    @Test("the journal's JSON in every form it writes MESSAGE; one failure logged twice counted once; grouped by cause")
    func journal() throws {
        func entry(_ message: ConfigValue, unit: String, time: Int) -> String {
            JSONWriter.write(
                .fields([
                    "__REALTIME_TIMESTAMP": .string(String(time * 1_000_000)), "_SYSTEMD_UNIT": .string(unit), "MESSAGE": message,
                ]), pretty: false)
        }
        let bytes = Array(Self.kubelet.utf8).map { ConfigValue.int(Int($0)) }
        let lines = [
            entry(.string(Self.containerd17), unit: "containerd.service", time: 2000),
            entry(.string(Self.kubelet), unit: "kubelet.service", time: 2001),  // the same sandbox
            entry(.array(bytes), unit: "kubelet.service", time: 2002),  // as bytes (a control character)
            entry(.null, unit: "kubelet.service", time: 2003),  // too long without -a
            entry(.string(Self.containerd22), unit: "containerd.service", time: 2004),
            entry(
                .string(String(Self.containerd22.split(separator: "9d2d48a4").joined(separator: "0d2d48a4"))), unit: "containerd.service",
                time: 2005),
            entry(.string(Self.containerd22), unit: "containerd.service", time: 100),  // before the window
            "not json at all",
        ].joined(separator: "\n")
        let failures = SandboxFailures.fromJournal(Array(lines.utf8), since: 1000)
        let groups = SandboxFailures.group(failures)
        #expect(groups.map(\.count) == [2, 1])
        #expect(groups.first?.cause.contains("subnet.env") == true)
        #expect(groups.first?.first == 2004 && groups.first?.last == 2005)
        #expect(groups.last?.pods == ["shop/web-7f9c"])
        #expect(groups.last?.sources == ["journal: containerd.service", "journal: kubelet.service"])
        let findings = SandboxChecks.networkFailed(groups, window: 60)
        #expect(findings.map(\.code) == [.sandboxNetworkFailed, .sandboxNetworkFailed])
        #expect(findings.last?.evidence.first == "1 failed sandbox in the last 60 min (at 1970-01-01T00:33:20Z)")
    }

    @Test("the last entry's __CURSOR, where the next read goes on from; none in garbage")
    func cursor() {
        let lines = [
            #"{"__CURSOR":"s=1;i=a1","MESSAGE":"x"}"#, #"{"__CURSOR":"s=1;i=a2","MESSAGE":"y"}"#, "not json", #"{"MESSAGE":"no cursor"}"#,
        ].joined(separator: "\n")
        #expect(SandboxFailures.lastCursor(Array(lines.utf8)) == "s=1;i=a2")
        #expect(SandboxFailures.lastCursor(Array("garbage\n\u{1B}[2J".utf8)) == nil)
    }

    @Test("a runtime's log file: its own times, the window, a huge line and garbage survive")
    func logFile() {
        let huge = String(repeating: "failed to setup network for sandbox ", count: 100_000)
        let text = [Self.containerd17, Self.containerd22, huge, "\u{0}\u{FF}garbage"].joined(separator: "\n")
        let failures = SandboxFailures.fromLogFile(Array(text.utf8)[...], source: "/var/log/containerd.log", since: 1_740_000_000)
        #expect(failures.map(\.pod) == ["default/xwing", nil])
    }

    @Test("a 1 GiB log and a FIFO where the log should be: the last 32 MiB read, from a whole line; one line for the FIFO")
    func hugeLog() throws {
        let tree = NodeTree()
        tree.write("/log", "")
        let path = tree.path + "/log"
        let fd = open(path, O_WRONLY)
        #expect(ftruncate(fd, 1 << 30) == 0)  // sparse: no disk used
        _ = lseek(fd, 0, SEEK_END)
        let line = "\n" + Self.containerd22 + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let started = MonotonicClock.milliseconds
        let tail = try tree.root.readTail("/log", limit: 32 << 20)
        #expect(tail.count <= 32 << 20)
        let failures = SandboxFailures.fromLogFile(tail, source: "/log", since: 0)
        #expect(failures.map(\.pod) == ["default/xwing"])
        #expect(MonotonicClock.milliseconds - started < 5000)
        mkfifo(tree.path + "/fifo", 0o644)
        #expect(throws: NodeFileError.self) { try tree.root.readTail("/fifo", limit: 1 << 20) }
    }
}

import DNS
import NetAddress
import TestSupport
import Testing

/// resolv.conf as glibc reads it, and the names a lookup queries (glibc's res_search), on the file
/// containerd 1.6.20 wrote for a CRI sandbox (the shared corpus) and on hand-written cases.
@Suite("resolv.conf and the search list")
struct ResolvConfTests {
    @Test("containerd's file for a kube-system pod: the kubelet's ClusterFirst search list, ndots 5")
    func containerdFile() throws {
        let path =
            Repository.corpus
            + "/cache/containerd-1.6.20/sandboxes/2a6a62661366b4acea8695030b119ad5a7278fe8a0f7b1504902ebc321bb8cd3/resolv.conf"
        let text = try #require(Repository.read(path), "the corpus is missing at \(Repository.corpus)")
        let conf = ResolvConf.parse(String(decoding: text, as: UTF8.self))
        #expect(conf.nameservers == [IPAddress.parse("10.96.0.10")!])
        #expect(conf.search == ["kube-system.svc.cluster.local", "svc.cluster.local", "cluster.local"])
        #expect(conf.ndots == 5 && conf.timeoutSeconds == 5 && conf.attempts == 2 && conf.unknownLines.isEmpty)
    }

    @Test(
        "where runtimes keep a pod's resolv.conf: containerd's sandbox directory, CRI-O's userdata; missing or not text: said, with the places looked at"
    )
    func locations() throws {
        let id = "2a6a62661366b4acea8695030b119ad5a7278fe8a0f7b1504902ebc321bb8cd3"
        let containerd = NodeTree().write(
            "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/\(id)/resolv.conf", "nameserver 10.96.0.10\n")
        defer { NodeTree.removeTree(containerd.path) }
        let found = try PodResolvConf.read(sandbox: id, root: containerd.root).get()
        #expect(found.path.hasSuffix("sandboxes/\(id)/resolv.conf") && found.text.hasPrefix("nameserver"))
        let crio = NodeTree().write("/var/lib/containers/storage/overlay-containers/\(id)/userdata/resolv.conf", "search x\n")
        defer { NodeTree.removeTree(crio.path) }
        #expect(try PodResolvConf.read(sandbox: id, root: crio.root).get().path.contains("userdata"))
        let empty = NodeTree()
        defer { NodeTree.removeTree(empty.path) }
        guard case .failure(let missing) = PodResolvConf.read(sandbox: id, root: empty.root) else {
            Issue.record("found a file that is not there"); return
        }
        #expect(missing.description.contains("no resolv.conf") && missing.description.contains("/var/lib/docker/containers/"))
        let binary = NodeTree().write("/var/lib/docker/containers/\(id)/resolv.conf", bytes: [0x6E, 0, 0, 1])
        defer { NodeTree.removeTree(binary.path) }
        guard case .failure(let notText) = PodResolvConf.read(sandbox: id, root: binary.root) else {
            Issue.record("read a binary file"); return
        }
        #expect(notText.description.contains("not a text file"))
    }

    @Test("glibc's rules: keywords at the line's start, the last of domain/search wins, three nameservers, capped options")
    func rules() {
        let conf = ResolvConf.parse(
            """
            # comment
            ; comment
            domain example.org
            search a.example b.example
            nameserver 10.0.0.1
             nameserver 10.0.0.9
            nameserver fe80::1%eth0
            nameserver 10.0.0.3
            nameserver 10.0.0.4
            nameserver not-an-address
            options ndots:20 timeout:0 attempts:9 single-request-reopen rotate
            bogus line
            """)
        #expect(conf.nameservers.map(\.description) == ["10.0.0.1", "fe80::1", "10.0.0.3"])
        #expect(conf.ignoredNameservers == ["10.0.0.4", "not-an-address"])
        #expect(conf.search == ["a.example", "b.example"])
        #expect(conf.ndots == 15 && conf.timeoutSeconds == 1 && conf.attempts == 5)
        #expect(conf.flags == ["single-request-reopen", "rotate"])
        #expect(conf.unknownLines == [" nameserver 10.0.0.9", "bogus line"])
        #expect(ResolvConf.parse("search x.example\ndomain y.example\n").search == ["y.example"])
        #expect(ResolvConf.parse("").ndots == 1)
        // A hostile file's thousands of search domains: 32 queried, the rest listed.
        let many = ResolvConf.parse("search " + (0..<5000).map { "d\($0).example" }.joined(separator: " ") + "\n")
        #expect(many.search.count == 32 && many.ignoredSearch.count == 4968)
        #expect(many.candidates(for: DNSName("web")!).count == 33)
    }

    static let pod = ResolvConf.parse(
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")

    static func names(_ text: String, _ conf: ResolvConf = pod) -> [String] {
        conf.candidates(for: DNSName(text)!).map(\.description)
    }

    @Test("fewer dots than ndots: the search domains first, the name as written last")
    func searchFirst() {
        #expect(Self.names("web") == ["web.default.svc.cluster.local", "web.svc.cluster.local", "web.cluster.local", "web"])
        // api.example.com has 2 dots < 5: four wasted lookups (times A and AAAA) before the real one.
        #expect(Self.names("api.example.com").last == "api.example.com" && Self.names("api.example.com").count == 4)
    }

    @Test("at least ndots dots: the name first; an absolute name alone")
    func asIsFirst() {
        #expect(
            Self.names("a.b.c.d.e.f") == [
                "a.b.c.d.e.f", "a.b.c.d.e.f.default.svc.cluster.local", "a.b.c.d.e.f.svc.cluster.local",
                "a.b.c.d.e.f.cluster.local",
            ])
        #expect(Self.names("web.default.svc.cluster.local.") == ["web.default.svc.cluster.local"])
        let ndots1 = ResolvConf.parse("search corp.example\n")
        #expect(Self.names("host.lan", ndots1) == ["host.lan", "host.lan.corp.example"])
        #expect(Self.names("host", ndots1) == ["host.corp.example", "host"])
    }

    @Test("a search domain that would make the name too long is skipped, not sent")
    func tooLong() {
        let long = String(repeating: "abcdefghij.", count: 22) + "x"  // 243 characters
        let conf = ResolvConf.parse("search default.svc.cluster.local s.io\noptions ndots:30\n")
        // 21 dots, at least ndots (capped at 15): the name first, then the one domain that fits.
        #expect(Self.names(long, conf).map(\.count) == [long.count, long.count + 5])
    }
}

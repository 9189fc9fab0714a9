import CNIDetection
import NetAddress
import NodeFiles
import Pods
import RuntimeModel
import TestSupport
import Testing

/// Pods read from libcni's result cache as each libcni writes it: on the shared corpus's real
/// files (containerd 1.6.20 with libcni 1.1.2; multus) and on a libcni ≥ 1.2 entry.
@Suite("Pods from libcni's result cache")
struct CachePodTests {
    /// A node tree whose result cache holds these corpus files.
    func node(_ corpusFiles: [String]) throws -> NodeTree {
        let tree = NodeTree()
        for file in corpusFiles {
            let bytes = try #require(Repository.read(Repository.corpus + "/" + file), "corpus file \(file)")
            _ = tree.write("/var/lib/cni/results/" + String(file.split(separator: "/").last!), bytes: bytes, mode: 0o600)
        }
        return tree
    }

    static let containerd = [
        "cache/containerd-1.6.20/results/containerd-net-2a6a62661366b4acea8695030b119ad5a7278fe8a0f7b1504902ebc321bb8cd3-eth0",
        "cache/containerd-1.6.20/results/cni-loopback-2a6a62661366b4acea8695030b119ad5a7278fe8a0f7b1504902ebc321bb8cd3-lo",
    ]

    @Test("containerd 1.6.20's two entries: one pod, its namespace from the interfaces' sandbox, loopback kept apart")
    func containerd16() throws {
        let tree = try node(Self.containerd)
        let pods = PodDirectory(root: tree.root)
        #expect(pods.pods.count == 1)
        let pod = try pods.find("kube-system/coredns-5d78c9869d-x7k2p")
        #expect(pod.source == .cache)
        #expect(pod.netnsPath == "/var/run/netns/cni-dd49d6eb-e481-0ba7-9c93-70984bbfd317")
        #expect(pod.addresses == [IPAddress.parse("10.88.0.4")!])
        #expect(pod.primaryAddress() == IPAddress.parse("10.88.0.4"))
        #expect(pod.primaryInterface == "eth0")
        #expect(pod.attachments.map(\.networkName) == ["containerd-net"])
        #expect(pod.loopback?.networkName == "cni-loopback")
        #expect(pod.loopback?.isRuntimeLoopback == true)
        #expect(pod.attachments.first?.isRuntimeLoopback == false)
        // Named by its IP, by its bare name; never by the loopback addresses every pod has.
        #expect(try pods.find("10.88.0.4").containerID == pod.containerID)
        #expect(try pods.find("coredns-5d78c9869d-x7k2p").containerID == pod.containerID)
        #expect(throws: PodLookupError.self) { try pods.find("127.0.0.1") }
        #expect(throws: PodLookupError.self) { try pods.find("::1") }
    }

    @Test("the loopback entry alone: the pod is named and located, with no address")
    func loopbackOnly() throws {
        let tree = try node([Self.containerd[1]])
        let pod = try PodDirectory(root: tree.root).find("coredns-5d78c9869d-x7k2p")
        #expect(pod.attachments.isEmpty)
        #expect(pod.addresses.isEmpty)
        #expect(pod.netnsPath == "/var/run/netns/cni-dd49d6eb-e481-0ba7-9c93-70984bbfd317")
    }

    @Test("a libcni ≥ 1.2 entry: the top-level netns wins")
    func libcni12() throws {
        let entry = """
            {"kind":"cniCacheV1","containerId":"c0ffee","config":"","ifName":"eth0","networkName":"k8s-pod-network",
             "netns":"/var/run/netns/cni-1234","cniArgs":[["K8S_POD_NAMESPACE","web"],["K8S_POD_NAME","front-1"]],
             "result":{"cniVersion":"1.1.0","interfaces":[{"name":"cali0123","mac":"ee:ee:ee:ee:ee:ee"},
                                                          {"name":"eth0","sandbox":"/var/run/netns/cni-other"}],
                       "ips":[{"address":"192.168.7.9/32","interface":1},{"address":"fd00::7:9/128","interface":1}]}}
            """
        let tree = NodeTree().write("/var/lib/cni/results/k8s-pod-network-c0ffee-eth0", entry, mode: 0o600)
        let pod = try PodDirectory(root: tree.root).find("web/front-1")
        #expect(pod.netnsPath == "/var/run/netns/cni-1234")
        #expect(pod.addresses.map(\.description) == ["192.168.7.9", "fd00::7:9"])
        #expect(pod.primaryAddress(ipv4: false)?.description == "fd00::7:9")
    }

    @Test("a multus pod: two attachments with their own interface and network, the cluster network first")
    func multus() throws {
        let tree = try node([
            "cache/multus-test/results/macvlan-conf-1-3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755-net1",
            "cache/multus-test/results/cbr0-3f6940ab5ab43bc522569d15b23f8c1bbde1d7678b080398506924fc01d72755-eth0",
        ])
        let pod = try PodDirectory(root: tree.root).find("default/macvlan")
        #expect(pod.attachments.map(\.ifName) == ["eth0", "net1"])
        #expect(pod.attachments.map(\.networkName) == ["cbr0", "macvlan-conf-1"])
        #expect(pod.primaryAddress()?.description == "10.244.1.4")
        #expect(pod.addresses.map(\.description) == ["10.244.1.4", "10.1.1.101"])
        #expect(try PodDirectory(root: tree.root).find("10.1.1.101").name == "macvlan")
    }

    @Test("the sandbox a cache file belongs to, from its name as libcni writes it (a command naming pods reads only theirs)")
    func sandboxFromFileName() throws {
        let tree = try node(Self.containerd)
        let files = CacheEntry.list(root: tree.root).files
        #expect(files.count == 2)
        for file in files {
            let entry = try #require(CacheEntry.parse(bytes: try tree.root.read(file.nodePath)))
            #expect(CacheEntry.containerID(inFileName: file.name) == entry.containerID)
        }
        // A network name with dashes, and names libcni did not write.
        #expect(
            CacheEntry.containerID(inFileName: "k8s-pod-network-" + String(repeating: "ab", count: 32) + "-eth0")
                == String(repeating: "ab", count: 32))
        #expect(CacheEntry.containerID(inFileName: "net-shortid-eth0") == nil)
        #expect(CacheEntry.containerID(inFileName: "") == nil)
    }

    @Test("two pods of one name in two namespaces are labelled namespace/name, a pod whose name is its own keeps it")
    func sameNamedPodsLabelled() throws {
        let tree = NodeTree()
        for (id, namespace, name, ip) in [
            ("a1", "staging", "web-0", "10.244.1.5"), ("b2", "prod", "web-0", "10.244.1.6"),
            ("c3", "prod", "api", "10.244.1.7"),
        ] {
            let entry = """
                {"kind":"cniCacheV1","containerId":"\(id)","networkName":"n","ifName":"eth0",
                 "cniArgs":[["K8S_POD_NAMESPACE","\(namespace)"],["K8S_POD_NAME","\(name)"]],
                 "result":{"ips":[{"address":"\(ip)/24","interface":0}],"interfaces":[{"name":"eth0","sandbox":"/var/run/netns/\(id)"}]}}
                """
            _ = tree.write("/var/lib/cni/results/n-\(id)-eth0", entry, mode: 0o600)
        }
        let pods = PodDirectory(root: tree.root)
        #expect(try pods.find("staging/web-0").label == "staging/web-0")
        #expect(try pods.find("10.244.1.6").label == "prod/web-0")
        #expect(try pods.find("api").label == "api")
        // A bare name that two namespaces have is the caller's mistake, said with both.
        #expect(throws: PodLookupError.self) { try pods.find("web-0") }
    }

    @Test("hostile addresses never crash: empty, slash, garbage")
    func hostileAddresses() throws {
        for address in ["", "/", "//", "garbage/24", "10.0.0.1/", "/24"] {
            let entry = """
                {"kind":"cniCacheV1","containerId":"e","networkName":"n","ifName":"eth0","cniArgs":[["K8S_POD_NAME","evil"]],
                 "result":{"ips":[{"address":"\(address)","interface":7}],"interfaces":[]}}
                """
            let tree = NodeTree().write("/var/lib/cni/results/n-e-eth0", entry, mode: 0o600)
            let pods = PodDirectory(root: tree.root)
            #expect(throws: PodLookupError.self) { try pods.find("10.77.1.2") }
            let pod = try pods.find("evil")
            #expect(pod.addresses.count <= 1)
        }
    }
}

extension CachePodTests {
    @Test("a CRI-O-shaped entry (spec-built: no CRI-O here): /var/run/netns/<uuid> without cni- prefix, no IgnoreUnknown")
    func crio() throws {
        let entry = """
            {"kind":"cniCacheV1","containerId":"5f1d","config":"","ifName":"eth0","networkName":"crio",
             "netns":"/var/run/netns/0a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d",
             "cniArgs":[["K8S_POD_NAMESPACE","db"],["K8S_POD_NAME","pg-0"],["K8S_POD_INFRA_CONTAINER_ID","5f1d"],["K8S_POD_UID","u"]],
             "result":{"cniVersion":"1.0.0","interfaces":[{"name":"cni0"},{"name":"veth1"},{"name":"eth0","sandbox":"/var/run/netns/0a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"}],
                       "ips":[{"address":"10.85.0.12/16","gateway":"10.85.0.1","interface":2}]}}
            """
        let tree = NodeTree().write("/var/lib/cni/results/crio-5f1d-eth0", entry, mode: 0o600)
        let pod = try PodDirectory(root: tree.root).find("db/pg-0")
        #expect(pod.netnsPath == "/var/run/netns/0a8b7c6d-1e2f-4a5b-8c9d-0e1f2a3b4c5d")
        #expect(pod.primaryAddress()?.description == "10.85.0.12")
        #expect(pod.attachments.first?.gateway == "10.85.0.1")
    }
}

extension CachePodTests {
    @Test(
        "one pod twice, an old sandbox's entry beside the live one (HOSTILE-INPUT 18): the live namespace wins; else the sandboxes are listed"
    )
    func staleTwin() throws {
        func entry(_ id: String, netns: String) -> String {
            """
            {"kind":"cniCacheV1","containerId":"\(id)","networkName":"n","ifName":"eth0","netns":"\(netns)",
             "cniArgs":[["K8S_POD_NAMESPACE","default"],["K8S_POD_NAME","pod1"]],"result":{"ips":[{"address":"10.77.1.2/24"}]}}
            """
        }
        let tree = NodeTree()
            .write("/var/lib/cni/results/n-old-eth0", entry("0ld0ld0ld0ld0ld", netns: "/var/run/netns/gone"), mode: 0o600)
            .write("/var/lib/cni/results/n-new-eth0", entry("11ve11ve11ve", netns: "/proc/self/ns/net"), mode: 0o600)
        #expect(try PodDirectory(root: tree.root).find("default/pod1").containerID == "11ve11ve11ve")
        #expect(try PodDirectory(root: tree.root).find("pod1").containerID == "11ve11ve11ve")
        let bothGone = NodeTree()
            .write("/var/lib/cni/results/n-a-eth0", entry("aaaaaaaaaaaaaa", netns: "/var/run/netns/gone1"), mode: 0o600)
            .write("/var/lib/cni/results/n-b-eth0", entry("bbbbbbbbbbbbbb", netns: "/var/run/netns/gone2"), mode: 0o600)
        let error = #expect(throws: PodLookupError.self) { try PodDirectory(root: bothGone.root).find("default/pod1") }
        #expect(
            error?.message.contains("aaaaaaaaaaaaa") == true && error?.message.contains("bbbbbbbbbbbbb") == true, "\(error?.message ?? "")")
    }
}

/// The lab's layout: two nodes joined by an underlay link, pods on them, addresses and names.
/// Everything it creates carries its prefix, so `lab down` can remove all of it and nothing else.
public struct LabPlan: Sendable, Equatable {
    public enum Topology: String, Sendable, CaseIterable {
        /// A bridge per node (cni0) and a VXLAN overlay between nodes, as flannel wires it.
        case overlay
        /// Point-to-point veths with a /32 route per pod and node routes over the underlay, as
        /// kindnet and calico (without encapsulation) wire it.
        case routed
        /// As calico wires it (VXLAN mode): a /32 per pod on eth0 with its default route via
        /// 169.254.1.1, which no interface owns (the host-side `cali…` veth answers ARP for it by
        /// proxy ARP), a /32 host route per local pod, a route per remote IPAM block over
        /// vxlan.calico, and felix's filter chains (see LabFelix).
        case calico
        /// As Cilium wires it in tunnel mode with per-endpoint routes: a /32 per pod on eth0 with
        /// its default route via the node's router address on cilium_host, an `lxc…` veth per pod
        /// with a /32 host route, cilium_vxlan (collect-metadata VXLAN) between nodes, and a
        /// stand-in of Cilium's BPF datapath (bpf/lab_cilium.h) keeping Cilium's maps (LabCilium).
        case cilium
    }

    /// The pods' address families, as a cluster's `--service-cluster-ip-range`/podCIDRs give them:
    /// IPv4 only, dual-stack (IPv4 first, as kubeadm orders it), or IPv6 only (no node IPv4 at all).
    public enum Family: String, Sendable, CaseIterable {
        case ipv4 = "4", dual, ipv6 = "6"
        public var hasIPv4: Bool { self != .ipv6 }
        public var hasIPv6: Bool { self != .ipv4 }
    }

    public struct Node: Sendable, Equatable {
        public var name: String  // node1
        public var namespace: String  // ndlab-node1
        public var underlayAddress: String
        public var podSubnet: String  // 10.244.1.0/24
        public var podGateway: String  // 10.244.1.1
        /// The overlay device's address and MAC (flannel gives flannel.1 the subnet's .0/32).
        public var vtepAddress: String
        public var vtepMAC: String
        /// The IPv6 halves (dual-stack and IPv6-only labs): the underlay's ULA, the pod /64, its
        /// gateway on cni0, and flannel-v6.1's address (the subnet's ::/128) and MAC.
        public var underlayAddress6: String
        public var podSubnet6: String  // fd00:10:244:1::/64
        public var podGateway6: String  // fd00:10:244:1::1
        public var vtepAddress6: String
        public var vtepMAC6: String
    }

    /// A pod the lab asks the node's runtime for; its sandbox ID and network namespace are the
    /// runtime's to choose (LabState keeps them).
    public struct Pod: Sendable, Equatable {
        public var name: String  // pod-a
        public var node: String  // node1
        public var uid: String  // stable, as the API server would give one
        public var serves: Bool  // pod-a answers HTTP on port 80, as nginx would
        /// The pod's Kubernetes namespace.
        public var namespace: String = LabPlan.podNamespace
        /// How the lab names it (lab status, lab break, its state): its name in the default
        /// namespace, namespace/name elsewhere (two pods may share a name).
        public var key: String { namespace == LabPlan.podNamespace ? name : "\(namespace)/\(name)" }
    }

    public var topology: Topology
    public var family: Family
    /// The Cilium release whose map layouts the cilium topology's datapath keeps: 15 (1.15) or 18 (1.18).
    public var ciliumRelease = 18
    public static let ciliumReleases = [15, 18]
    public var prefix: String
    public var nodes: [Node]
    public var pods: [Pod]

    /// The network name in the CNI config, and the file it lives in.
    public var networkName: String {
        switch topology {
        case .overlay: "lab-overlay"
        case .routed: "lab-routed"
        case .calico: "k8s-pod-network"
        case .cilium: "cilium"
        }
    }
    public var configFileName: String {
        switch topology {
        case .overlay: "10-lab-overlay.conflist"
        case .routed: "10-lab-routed.conflist"
        case .calico: "10-calico.conflist"
        case .cilium: "05-cilium.conflist"
        }
    }
    /// The address a calico pod's default route goes via: no interface holds it.
    public static let calicoGateway = "169.254.1.1"
    /// An IPv6 calico pod's gateway: the link-local address ee:ee:ee:ee:ee:ee gives the host veth.
    public static let calicoGateway6 = "fe80::ecee:eeff:feee:eeee"
    /// calico's IPv6 VXLAN device and VNI (felix's defaults).
    public static let calicoVXLANDevice6 = "vxlan-v6.calico"
    public static let calicoVNI6 = 6096
    /// calico's VXLAN device, its VNI and port (felix's defaults).
    public static let calicoVXLANDevice = "vxlan.calico"
    public static let calicoVNI = 4096
    public static let calicoVXLANPort = 4789
    /// Where a calico node's traffic goes when no route is more specific: an underlay router
    /// that is not there, as on a real node whose default route leads off the pod network.
    public static let underlayRouter = "192.168.77.254"
    public static let stateDirectory = "/var/lib/netdoctor-lab"
    public static let defaultPrefix = "ndlab"
    /// Where the lab's agents listen: netdoctor's default agent port (AgentDefaults.port, which
    /// Lab does not link; AgentTests holds the two equal), so that traces find them unasked.
    public static let agentPort = 9449
    public static let overlayMTU = 1450
    /// VXLAN over the IPv6 underlay costs 70 bytes (its outer IPv6 header is 40): flannel-v6.1's MTU.
    public static let overlayMTU6 = 1430
    /// The overlay's pod MTU: the smaller of its devices' (flannel-v6.1's when pods have IPv6).
    public var overlayPodMTU: Int { family.hasIPv6 ? Self.overlayMTU6 : Self.overlayMTU }
    public static let underlayMTU = 1500
    public static let vxlanPort = 8472
    /// flannel's IPv6 VXLAN device (dual-stack and IPv6-only): its own device over the IPv6 underlay.
    public static let vxlanDevice6 = "flannel-v6.1"
    /// The Kubernetes namespace of the lab's pods, and the cluster DNS the kubelet would hand them.
    public static let podNamespace = "default"
    public static let clusterDNS = "10.96.0.10"
    public static let clusterDomain = "cluster.local"
    /// The search list the kubelet gives a pod of `namespace` (ClusterFirst).
    public static func dnsSearches(namespace: String) -> [String] {
        ["\(namespace).svc.\(clusterDomain)", "svc.\(clusterDomain)", clusterDomain]
    }

    /// The largest `extraPods`: the pod subnet is a /24, shared with pod-a and pod-b (calico's
    /// block is a /26: 60 there).
    public static let maxExtraPods = 200

    /// The same-named pods `sameNamePods` adds on node1: a StatefulSet's first pod in two namespaces.
    public static let sameNamePods = [("staging", "web-0"), ("prod", "web-0")]

    /// `extraPods`: more pods on node1 (pod-x1, pod-x2, …), for measuring what a node with many
    /// pods costs (scripts/bench). `sameNamePods`: also web-0 in the staging and prod namespaces
    /// on node1, as two StatefulSets would have them (reports must say which is which).
    public init(
        topology: Topology, family: Family = .ipv4, prefix: String = LabPlan.defaultPrefix, extraPods: Int = 0,
        sameNamePods: Bool = false
    ) {
        self.topology = topology
        self.family = family
        self.prefix = prefix
        let second =
            switch topology {
            case .overlay: 244;
            case .routed: 245;
            case .calico: 246
            case .cilium: 247
            }
        nodes = (1...2).map { i in
            // calico: the node's IPAM block (a /26, calico's default block size); its VTEP holds
            // the block's first address, and pods have no gateway of their own.
            topology == .calico
                ? Node(
                    name: "node\(i)", namespace: "\(prefix)-node\(i)", underlayAddress: "192.168.77.\(i)",
                    podSubnet: "10.246.\(i).0/26", podGateway: Self.calicoGateway, vtepAddress: "10.246.\(i).0",
                    vtepMAC: "66:6e:64:00:00:0\(i)", underlayAddress6: "fd00:77::\(i)", podSubnet6: "fd00:10:246:\(i)::/122",
                    podGateway6: "", vtepAddress6: "fd00:10:246:\(i)::", vtepMAC6: "66:6e:64:00:06:0\(i)")
                : Node(
                    name: "node\(i)", namespace: "\(prefix)-node\(i)", underlayAddress: "192.168.77.\(i)",
                    podSubnet: "10.\(second).\(i).0/24", podGateway: "10.\(second).\(i).1", vtepAddress: "10.\(second).\(i).0",
                    vtepMAC: "0e:6e:64:00:00:0\(i)", underlayAddress6: "fd00:77::\(i)", podSubnet6: "fd00:10:\(second):\(i)::/64",
                    podGateway6: "fd00:10:\(second):\(i)::1", vtepAddress6: "fd00:10:\(second):\(i)::", vtepMAC6: "0e:6e:64:00:06:0\(i)")
        }
        // The calico topology's node block (a /26 through host-local) holds maxPods pods: pod-a, pod-b and 59 more.
        let extra = (0..<min(max(extraPods, 0), topology == .calico ? Self.maxPods(topology) - 2 : Self.maxExtraPods)).map {
            ("pod-x\($0 + 1)", "node1", false)
        }
        pods = ([("pod-a", "node1", true), ("pod-b", "node1", false), ("pod-c", "node2", false)] + extra).map { name, node, serves in
            Pod(name: name, node: node, uid: Self.uid(for: "\(prefix)-\(name)"), serves: serves)
        }
        if sameNamePods {
            pods += Self.sameNamePods.map { namespace, name in
                Pod(name: name, node: "node1", uid: Self.uid(for: "\(prefix)-\(namespace)-\(name)"), serves: false, namespace: namespace)
            }
        }
    }

    /// Pods beyond pod-a, pod-b and pod-c and the same-named pair.
    public var extraPodCount: Int { pods.filter { $0.name.hasPrefix("pod-x") }.count }
    public var hasSameNamePods: Bool { pods.contains { $0.namespace != Self.podNamespace } }

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }
    /// A pod by its key (pod-a, prod/web-0).
    public func pod(_ key: String) -> Pod? { pods.first { $0.key == key } }

    /// Where a node's file tree lives (its --root).
    public func nodeRoot(_ node: Node) -> String { "\(Self.stateDirectory)/\(node.name)" }

    /// A stable pod UID (8-4-4-4-12 hex digits).
    static func uid(for name: String) -> String {
        let hex = Array(hexDigits(for: name))
        return [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// 64 hex digits from a name (FNV-1a, four rounds).
    static func hexDigits(for name: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        var out = ""
        for round in 0..<4 {
            for byte in (name + String(round)).utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100000001b3
            }
            let hex = String(hash, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return out
    }

    /// The kubelet's maxPods: Kubernetes' default, or what the calico topology's /26 block holds
    /// through host-local (62 hosts, the gateway skipped), so that the lab's own config is one a
    /// check finds sound.
    public var maxPods: Int { Self.maxPods(topology) }
    static func maxPods(_ topology: Topology) -> Int { topology == .calico ? 61 : 110 }

    /// The CNI network config the lab's runtime loads on a node.
    public func networkConfig(for node: Node) -> String {
        if topology == .calico { return calicoNetworkConfig(for: node) }
        if topology == .cilium { return Self.ciliumNetworkConfig }
        // host-local with a range set per family, as dual-stack clusters configure it.
        var ranges: [String] = [], routes: [String] = []
        if family.hasIPv4 {
            ranges.append("[{\"subnet\": \"\(node.podSubnet)\", \"gateway\": \"\(node.podGateway)\"}]")
            routes.append("{\"dst\": \"0.0.0.0/0\"}")
        }
        if family.hasIPv6 {
            ranges.append("[{\"subnet\": \"\(node.podSubnet6)\", \"gateway\": \"\(node.podGateway6)\"}]")
            routes.append("{\"dst\": \"::/0\"}")
        }
        let ipam = """
            "ipam": {"type": "host-local", "ranges": [\(ranges.joined(separator: ", "))], \
            "routes": [\(routes.joined(separator: ", "))]}
            """
        let main: String
        switch topology {
        case .overlay:
            main = """
                {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true, "mtu": \(overlayPodMTU),
                      \(ipam)}
                """
        case .routed, .calico, .cilium:
            main = """
                {"type": "ptp", "ipMasq": true, "mtu": \(Self.underlayMTU),
                      \(ipam)}
                """
        }
        return """
            {
              "cniVersion": "1.0.0",
              "name": "\(networkName)",
              "plugins": [
                \(main),
                {"type": "portmap", "capabilities": {"portMappings": true}}
              ]
            }

            """
    }

    /// host-local's ranges over the node's blocks, one per family.
    func calicoRanges(_ node: Node) -> String {
        ((family.hasIPv4 ? [node.podSubnet] : []) + (family.hasIPv6 ? [node.podSubnet6] : [])).map { "[{\"subnet\": \"\($0)\"}]" }
            .joined(separator: ", ")
    }

    /// calico.yaml's conflist as install-cni writes it (cniVersion 0.3.1, the k8s-pod-network
    /// name, the node name, the VXLAN MTU), but with host-local over the node's block: there is
    /// no calico-ipam without a datastore. The `calico` plugin is the lab's own (LabCalicoPlugin).
    func calicoNetworkConfig(for node: Node) -> String {
        """
        {
          "name": "\(networkName)",
          "cniVersion": "0.3.1",
          "plugins": [
            {
              "type": "calico",
              "log_level": "info",
              "datastore_type": "kubernetes",
              "nodename": "\(node.name)",
              "mtu": \(overlayPodMTU),
              "ipam": {"type": "host-local", "ranges": [\(calicoRanges(node))]},
              "policy": {"type": "k8s"},
              "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}
            },
            {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}}
          ]
        }

        """
    }
}

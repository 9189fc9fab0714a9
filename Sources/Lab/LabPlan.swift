/// The lab's layout: two nodes joined by an underlay link, pods on them, addresses and names.
/// Everything it creates carries its prefix, so `lab down` can remove all of it and nothing else.
public struct LabPlan: Sendable, Equatable {
    public enum Topology: String, Sendable, CaseIterable {
        /// A bridge per node (cni0) and a VXLAN overlay between nodes, as flannel wires it.
        case overlay
        /// Point-to-point veths with a /32 route per pod and node routes over the underlay, as
        /// kindnet and calico (without encapsulation) wire it.
        case routed
    }

    public struct Node: Sendable, Equatable {
        public var name: String          // node1
        public var namespace: String     // ndlab-node1
        public var underlayAddress: String
        public var podSubnet: String     // 10.244.1.0/24
        public var podGateway: String    // 10.244.1.1
        /// The overlay device's address and MAC (flannel gives flannel.1 the subnet's .0/32).
        public var vtepAddress: String
        public var vtepMAC: String
    }

    /// A pod the lab asks the node's runtime for; its sandbox ID and network namespace are the
    /// runtime's to choose (LabState keeps them).
    public struct Pod: Sendable, Equatable {
        public var name: String          // pod-a
        public var node: String          // node1
        public var uid: String           // stable, as the API server would give one
        public var serves: Bool          // pod-a answers HTTP on port 80, as nginx would
    }

    public var topology: Topology
    public var prefix: String
    public var nodes: [Node]
    public var pods: [Pod]

    /// The network name in the CNI config, and the file it lives in.
    public var networkName: String { topology == .overlay ? "lab-overlay" : "lab-routed" }
    public var configFileName: String { topology == .overlay ? "10-lab-overlay.conflist" : "10-lab-routed.conflist" }
    public static let stateDirectory = "/var/lib/netdoctor-lab"
    public static let defaultPrefix = "ndlab"
    /// Where the lab's agents listen: netdoctor's default agent port.
    public static let agentPort = 9449
    public static let overlayMTU = 1450
    public static let underlayMTU = 1500
    public static let vxlanPort = 8472
    /// The Kubernetes namespace of the lab's pods, and the cluster DNS the kubelet would hand them.
    public static let podNamespace = "default"
    public static let clusterDNS = "10.96.0.10"
    public static let clusterDomain = "cluster.local"
    public static let dnsSearches = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]

    /// The largest `extraPods`: the pod subnet is a /24, shared with pod-a and pod-b.
    public static let maxExtraPods = 200

    /// `extraPods`: more pods on node1 (pod-x1, pod-x2, …), for measuring what a node with many
    /// pods costs (scripts/bench).
    public init(topology: Topology, prefix: String = LabPlan.defaultPrefix, extraPods: Int = 0) {
        self.topology = topology
        self.prefix = prefix
        let second = topology == .overlay ? 244 : 245
        nodes = (1...2).map { i in
            Node(name: "node\(i)", namespace: "\(prefix)-node\(i)", underlayAddress: "192.168.77.\(i)",
                 podSubnet: "10.\(second).\(i).0/24", podGateway: "10.\(second).\(i).1", vtepAddress: "10.\(second).\(i).0",
                 vtepMAC: "0e:6e:64:00:00:0\(i)")
        }
        let extra = (0..<min(max(extraPods, 0), Self.maxExtraPods)).map { ("pod-x\($0 + 1)", "node1", false) }
        pods = ([("pod-a", "node1", true), ("pod-b", "node1", false), ("pod-c", "node2", false)] + extra).map { name, node, serves in
            Pod(name: name, node: node, uid: Self.uid(for: "\(prefix)-\(name)"), serves: serves)
        }
    }

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }
    public func pod(_ name: String) -> Pod? { pods.first { $0.name == name } }

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

    /// The CNI network config the lab's runtime loads on a node.
    public func networkConfig(for node: Node) -> String {
        let ipam = """
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "\(node.podSubnet)", "gateway": "\(node.podGateway)"}]], \
        "routes": [{"dst": "0.0.0.0/0"}]}
        """
        let main: String
        switch topology {
        case .overlay:
            main = """
            {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true, "mtu": \(Self.overlayMTU),
                  \(ipam)}
            """
        case .routed:
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
}

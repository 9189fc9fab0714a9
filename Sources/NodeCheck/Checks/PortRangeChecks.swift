import Diagnosis

/// NODEPORT_RANGE_OVERLAP, built here only: NodePorts the kernel may give a client socket
/// first (kubernetes#111682). Pure.
public enum PortRangeChecks {
    /// The API server's default --service-node-port-range; a cluster may set another, which the
    /// node cannot see: only the NodePorts kube-proxy programmed are certain.
    public static let defaultNodePorts = 30000...32767

    public static func overlap(_ ranges: LocalPortRanges, nodePorts: [Int]) -> [Finding] {
        let exposed = ranges.exposed(nodePorts.sorted())
        let rangeText = "net.ipv4.ip_local_port_range = \(ranges.ephemeral.lowerBound) \(ranges.ephemeral.upperBound)"
        let reserved =
            "net.ipv4.ip_local_reserved_ports = \(ranges.reserved.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }.joined(separator: ","))"
        if !exposed.isEmpty {
            return [
                Finding(
                    .nodePortRangeOverlap, .warning,
                    "\(exposed.count) NodePort\(exposed.count == 1 ? " is" : "s are") inside the node's ephemeral port range and not reserved: a client socket on the node may take the port, and the Service then fails on this node.",
                    hop: "node",
                    evidence: [
                        rangeText, reserved,
                        "NodePorts programmed by kube-proxy: \(exposed.prefix(10).map(String.init).joined(separator: ", "))",
                    ],
                    remedy:
                        "Reserve the NodePort range: net.ipv4.ip_local_reserved_ports=30000-32767 (the cluster's --service-node-port-range), persisted in /etc/sysctl.d."
                )
            ]
        }
        let defaultExposed = ranges.exposed(Array(defaultNodePorts))
        guard !defaultExposed.isEmpty, nodePorts.isEmpty || !nodePorts.allSatisfy({ !defaultNodePorts.contains($0) }) else { return [] }
        return [
            Finding(
                .nodePortRangeOverlap, .info,
                "The node's ephemeral port range covers \(defaultExposed.count) ports of Kubernetes' default NodePort range 30000-32767, none reserved; no NodePort kube-proxy programmed is among them now.",
                hop: "node", evidence: [rangeText, reserved],
                remedy: "If the cluster uses the default NodePort range, reserve it: net.ipv4.ip_local_reserved_ports=30000-32767.")
        ]
    }
}

import Diagnosis
import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import NodeFiles
import Pods

/// Builds `inspect` reports for the node or a pod.
public enum Inspector {
    public static func inspectNode(directory: NamespaceDirectory) throws -> InspectReport {
        var states: [NetNamespace.Identity: NamespaceState] = [:]
        let view = try NamespaceView.read(directory.node, directory: directory, peerStates: &states)
        return InspectReport(target: "node", view: view, pod: nil, hostSide: nil, findings: nodeFindings(view))
    }

    public static func inspectPod(_ pod: Pod, directory: NamespaceDirectory) throws -> InspectReport {
        let namespace = try PodDirectory.namespace(of: pod, directory: directory)
        var states: [NetNamespace.Identity: NamespaceState] = [:]
        let view = try NamespaceView.read(namespace, directory: directory, peerStates: &states)
        var report = InspectReport(target: pod.fullName, view: view, pod: pod, hostSide: nil, findings: [])
        let eth0 = view.interfaces.first { $0.name == pod.primaryInterface }
        if let peer = eth0?.peer, let hostNamespace = directory.named(peer.namespace) ?? directory.known.first(where: { $0.name == peer.namespace }) {
            let hostView = try NamespaceView.read(hostNamespace, directory: directory, peerStates: &states)
            if let veth = hostView.interfaces.first(where: { $0.index == peer.index }) {
                let bridge = veth.master.flatMap { m in hostView.interfaces.first { $0.name == m } }
                // Routes into the veth, leaving out the fe80::/64 every interface has.
                let routes = hostView.routes.filter { $0.interface == veth.name && $0.table == Route.mainTable && !$0.destination.hasPrefix("fe80:") }
                report.hostSide = .init(namespace: hostNamespace.name, interface: veth, bridge: bridge, routes: routes)
            }
        }
        report.findings = podFindings(report)
        return report
    }

    /// What inspect can say at a glance; `trace` does the full diagnosis along a path.
    static func podFindings(_ report: InspectReport) -> [Finding] {
        var findings: [Finding] = []
        let pod = report.target
        for i in report.view.interfaces where i.kind != "loopback" && !i.up {
            findings.append(Finding(.linkDown, .error, "\(i.name) in \(pod) is down: the pod has no network on it.",
                                    hop: "\(pod):\(i.name)", evidence: ["\(i.name): operstate \(i.operState), IFF_UP not set"],
                                    remedy: "ip -n \(report.view.namespace.name) link set \(i.name) up, and find what set it down."))
        }
        if let host = report.hostSide {
            if !host.interface.up {
                findings.append(Finding(.linkDown, .error, "The host side \(host.interface.name) of \(pod) is down: nothing reaches the pod.",
                                        hop: "\(host.namespace):\(host.interface.name)", evidence: ["\(host.interface.name): operstate \(host.interface.operState)"],
                                        remedy: "ip link set \(host.interface.name) up (on the node)."))
            }
            if host.bridge == nil && host.routes.isEmpty {
                findings.append(Finding(.bridgePortMissing, .error,
                                        "The host side \(host.interface.name) of \(pod) is neither a bridge port nor the target of a route: traffic cannot reach the pod.",
                                        hop: "\(host.namespace):\(host.interface.name)", evidence: ["no master", "no route via \(host.interface.name)"],
                                        remedy: "Attach it to the CNI's bridge (ip link set \(host.interface.name) master cni0) or restore the pod's route."))
            }
        } else if report.view.interfaces.contains(where: { $0.kind == "veth" }) {
            findings.append(Finding(.linkDown, .warning, "The peer of \(pod)'s veth was not found in any known namespace.",
                                    hop: pod, evidence: report.view.interfaces.filter { $0.kind == "veth" }.map { "\($0.name): peer \($0.peer.map { "\($0.namespace):\($0.interface)" } ?? "unknown")" }))
        }
        if !report.view.routes.contains(where: { $0.destination == "default" && $0.table == Route.mainTable }) {
            findings.append(Finding(.noRoute, .warning, "\(pod) has no default route: it reaches only its own subnet.",
                                    hop: pod, evidence: ["main table: \(report.view.routes.filter { $0.table == 254 }.map(\.destination).joined(separator: ", "))"],
                                    remedy: "Check the CNI's IPAM routes (a gateway or 0.0.0.0/0)."))
        }
        findings += neighborFindings(report.view, where: pod)
        return findings
    }

    static func nodeFindings(_ view: NamespaceView) -> [Finding] {
        var findings: [Finding] = []
        if view.state.ipForwarding == false, view.interfaces.contains(where: { $0.kind == "veth" || $0.kind == "bridge" }) {
            findings.append(Finding(.ipForwardDisabled, .error, "This node routes pod traffic, but net.ipv4.ip_forward is 0.",
                                    hop: "node", evidence: ["net.ipv4.ip_forward = 0", "pod interfaces present (veth/bridge)"],
                                    remedy: "sysctl -w net.ipv4.ip_forward=1, and persist it in /etc/sysctl.d."))
        }
        findings += neighborFindings(view, where: "node")
        return findings
    }

    static func neighborFindings(_ view: NamespaceView, where place: String) -> [Finding] {
        view.neighbors.filter { $0.state.contains("FAILED") || $0.state.contains("INCOMPLETE") }.map { n in
            Finding(.neighborFailed, .warning, "The neighbour \(n.address) on \(n.interface) does not answer (\(n.state.joined(separator: ","))).",
                    hop: "\(place):\(n.interface)", evidence: ["\(n.address) dev \(n.interface) \(n.state.joined(separator: ","))"],
                    remedy: "Check that \(n.address) exists and is up on that segment.")
        }
    }
}

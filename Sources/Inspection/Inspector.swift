import Checks
import Diagnosis
import KernelState
import NetAddress
import NetlinkCodec
import NetSystem
import NodeFiles
import PathFacts
import Pods

/// Builds `inspect` reports for the node or a pod. What inspect can say at a glance is decided
/// by the same checks a trace runs (Checks), on the namespaces it read; `trace` does the full
/// diagnosis along a path.
public enum Inspector {
    public static func inspectNode(_ node: any NodeAccess) throws -> InspectReport {
        let view = try NamespaceView.read(node.node, node: node)
        let findings =
            IPForwardDisabled.check(node: view.state, label: KnownNamespace.nodeName)
            + NeighborChecks.check(table: view.state, label: KnownNamespace.nodeName)
            + AddressState.check(table: view.state, label: KnownNamespace.nodeName)
            + RouterAdvertisements.check(node: view.state, label: KnownNamespace.nodeName)
        return InspectReport(target: KnownNamespace.nodeName, view: view, pod: nil, hostSide: nil, findings: findings)
    }

    public static func inspectPod(_ pod: Pod, node: any NodeAccess) throws -> InspectReport {
        let namespace = try node.namespace(of: pod)
        let view = try NamespaceView.read(namespace, node: node)
        var report = InspectReport(target: pod.fullName, view: view, pod: pod, hostSide: nil, findings: [])
        var host: (known: KnownNamespace, state: NamespaceState, veth: Link)? = nil
        let eth0 = view.interfaces.first { $0.name == pod.primaryInterface }
        if let peer = eth0?.peer, let hostNamespace = node.namespace(named: peer.namespace) {
            let hostView = try NamespaceView.read(hostNamespace, node: node)
            if let veth = hostView.interfaces.first(where: { $0.index == peer.index }), let link = hostView.state.link(index: veth.index) {
                let bridge = veth.master.flatMap { m in hostView.interfaces.first { $0.name == m } }
                // Routes into the veth, leaving out the fe80::/64 every interface has.
                let routes = hostView.routes.filter { $0.interface == veth.name && $0.table == .main && !$0.destination.hasPrefix("fe80:") }
                report.hostSide = .init(namespace: hostNamespace.name, interface: veth, bridge: bridge, routes: routes)
                host = (hostNamespace, hostView.state, link)
            }
        }
        report.findings = podFindings(
            pod.fullName, namespace: namespace, state: view.state, host: host,
            veths: view.interfaces.filter { $0.kind == "veth" }.map {
                "\($0.name): peer \($0.peer.map { "\($0.namespace):\($0.interface)" } ?? "unknown")"
            })
        return report
    }

    /// What inspect says of one pod, from its namespace's state and its host side's (nil: the
    /// veth's peer was not found; `veths` then says what the pod's veths point at).
    static func podFindings(
        _ label: String, namespace: KnownNamespace, state: NamespaceState,
        host: (known: KnownNamespace, state: NamespaceState, veth: Link)?,
        veths: @autoclosure () -> [String]
    ) -> [Finding] {
        var findings = LinkDown.check(pod: label, namespace: namespace, interfaces: state.links, hostSide: host.map { ($0.known, $0.veth) })
        if let host {
            findings += BridgePortMissing.check(host.veth, node: host.state, label: host.known.name)
        } else {
            findings += LinkDown.peerNotFound(pod: label, veths: veths())
        }
        return findings + NoRoute.check(pod: label, routes: state.routes) + NeighborChecks.check(table: state, label: label)
            + AddressState.check(table: state, label: label)
    }

    /// inspect's findings for every pod of a node at once (check's sweep): the states each
    /// handle holds, no view built, the node's read once however many pods it serves. A pod
    /// whose namespace cannot be read is returned with why.
    public static func sweep(_ pods: [Pod], node: any NodeAccess) -> (findings: [Finding], unread: [String]) {
        var findings: [Finding] = []
        var unread: [String] = []
        for (pod, located) in zip(pods, node.namespaces(of: pods)) {
            do {
                let namespace = try located.get()
                let access = try node.open(namespace)
                let state = try access.state()
                findings += podFindings(
                    pod.label, namespace: namespace, state: state, host: try hostSide(of: pod, state: state, access: access, node: node),
                    veths: state.links.filter { $0.kind == "veth" }.map { "\($0.name): peer if\($0.linkIndex.map(String.init) ?? "?")" })
            } catch {
                unread.append("\(pod.label): \(error)")
            }
        }
        return (findings, unread)
    }

    /// The host side of the pod's interface: its veth's peer, in the namespace its nsid names.
    public static func hostSide(
        of pod: Pod, state: NamespaceState, access: any NamespaceAccess, node: any NodeAccess
    ) throws -> (known: KnownNamespace, state: NamespaceState, veth: Link)? {
        guard let interface = state.link(named: pod.primaryInterface), interface.kind == "veth", let peerIndex = interface.linkIndex,
            let nsid = interface.linkNetnsID, let peer = access.peer(nsid: nsid)
        else { return nil }
        let hostState = try node.open(peer).state()
        return hostState.link(index: peerIndex).map { (peer, hostState, $0) }
    }
}

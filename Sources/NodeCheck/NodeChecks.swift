import Checks
import KernelState
import Diagnosis
import NetAddress
import NetlinkCodec

/// Every check of `check`, run over the facts: pure, in the order a reader meets the layers
/// (configuration, the runtime, IPAM, the pods, the node's kernel, kube-proxy, the probes).
public enum NodeChecks {
    /// How far back the runtime's and the kubelet's logs are read for failed sandboxes.
    public static let logWindowMinutes = 60

    public static func run(_ facts: NodeCheckFacts) -> [Finding] {
        var found = facts.configuration.findings
        found += facts.runtimeConditions.map { RuntimeNetworkChecks.notReady($0, runtime: facts.runtimeName) } ?? []
        found += SandboxChecks.networkFailed(facts.sandboxFailures, window: NodeChecks.logWindowMinutes)
        for usage in facts.ipam { found += IPAMChecks.findings(usage, maxPods: facts.maxPods) }
        found += facts.pods.findings
        if let node = facts.node {
            for expectation in facts.bridges { found += BridgeChecks.addressMismatch(expectation, node: node) }
            found += BridgeChecks.netfilterDisabled(
                facts.bridgeNetfilter, proxyMode: facts.services?.mode, bridges: bridgesWithPods(node))
        }
        for overlay in facts.overlays { found += OverlayChecks.wrongUnderlay(overlay) }
        found += ReversePathChecks.strict(facts.reversePaths)
        found += HostManagerChecks.managed(facts.managedLinks)
        found += HostManagerChecks.macRewritten(facts.rewrittenMACs)
        if let flannel = facts.flannel { found += FlannelChecks.subnetMissing(flannel.subnet, source: flannel.source) }
        found += facts.conntrack.map(TableChecks.conntrack) ?? []
        for table in facts.neighborTables { found += TableChecks.neighbors(table) }
        if let ranges = facts.portRanges { found += PortRangeChecks.overlap(ranges, nodePorts: facts.services?.nodePorts ?? []) }
        found += facts.services?.findings ?? []
        found += facts.probes?.findings ?? []
        if !facts.collectionProblems.isEmpty {
            found.append(CollectionFailed.finding(facts.collectionProblems, place: "node", scope: "this node", again: "check"))
        }
        return found
    }

    /// The node's bridges with their veth ports, and the families of the addresses on them (a
    /// bridge with an IPv6 gateway serves IPv6 pods).
    static func bridgesWithPods(_ node: NamespaceState) -> [(name: String, ports: Int, families: Set<IPFamily>)] {
        node.links.filter { $0.kind == "bridge" }.map { bridge in
            let ports = node.links.filter { $0.masterIndex == bridge.index && $0.kind == "veth" }.count
            let families = Set(node.addresses(of: bridge.index).compactMap(\.address).filter { !$0.isLinkLocal }.map(\.family))
            return (bridge.name, ports, families)
        }
    }
}

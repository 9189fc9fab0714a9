import CNIDetection
import CRI
import Inspection
import KernelState
import NetAddress
import NodeCheck
import NodeFiles
import Pods
import RuntimeModel
import Services

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension NodeSession {
    /// check: the whole node, every fact gathered here once, then judged by NodeChecks. Nothing
    /// is sent and nothing changed.
    public func check() -> NodeCheckReport {
        let configuration = CNIDetector.detect(
            DetectionInput(
                root: root, kernel: root.prefix.isEmpty ? KernelView.current() : KernelView(), queryPlugins: root.prefix.isEmpty,
                cache: resultCache.entries))
        let maxPods =
            configuration.kubelet.maxPods.map { ($0, "the kubelet's maxPods") } ?? (
                110, "Kubernetes' default; the kubelet's config does not set it"
            )
        var facts = NodeCheckFacts(
            configuration: configuration, runtimeName: pods.runtime.inventory?.runtimeName ?? pods.runtime.endpointName, maxPods: maxPods)
        if case .answered(let endpoint, _) = pods.runtime {
            do {
                facts.runtimeConditions = try RuntimeClient.conditions(endpoint)
            } catch {
                facts.collectionProblems.append("the runtime's conditions (CRI Status): \(error)")
            }
        }
        gatherPods(into: &facts)
        gatherPools(into: &facts)
        gatherKernel(into: &facts)
        facts.services = servicesSummary(clusterDNS: (configuration.kubelet.clusterDNS ?? []).compactMap(IPAddress.parse))
        return NodeCheckReport(facts)
    }

    /// Every pod with a namespace of its own, swept with inspect's checks; the cache checked
    /// against the runtime.
    func gatherPods(into facts: inout NodeCheckFacts) {
        let swept = Inspector.sweep(pods.pods, node: kernel)
        let named = Set(
            swept.findings.filter { $0.severity >= .warning }.compactMap { $0.hop?.split(separator: ":").first.map(String.init) })
        facts.pods = PodSweep(
            count: pods.pods.count, findings: pods.nodeFindings + swept.findings,
            withProblems: pods.pods.map(\.label).filter(named.contains))
        facts.collectionProblems += swept.unread
    }

    /// host-local's pools of the active network, each joined with the containers the runtime and
    /// the cache know.
    func gatherPools(into facts: inout NodeCheckFacts) {
        guard let active = facts.configuration.active, let network = active.network else { return }
        let flannelPlugin = network.plugins.first { $0.type == "flannel" }
        let subnet = flannelPlugin.map { FlannelSubnet.read($0.raw.field("subnetFile")?.string ?? FlannelSubnet.defaultPath, root: root) }
        if let subnet { facts.flannel = (subnet, active.nodePath) }
        let (pools, notRead) = HostLocalPools.of(network, file: active.nodePath, flannelEnvironment: subnet?.environment)
        facts.ipamNotRead = notRead
        if facts.configuration.family?.family == "multus" {
            facts.ipamNotRead.append("\(active.nodePath) is multus's: its delegate's IPAM is not read")
        }
        facts.bridges = BridgeExpectation.of(network, file: active.nodePath, pools: pools)
        let known = knownContainers()
        facts.ipam = pools.map { IPAMUsage(pool: $0, store: HostLocalStore.read($0.directory, root: root), known: known) }
    }

    /// The container IDs that own addresses: every sandbox the runtime lists (in any state) and
    /// every container of libcni's cache; nil when the runtime did not answer.
    func knownContainers() -> Set<String>? {
        guard let inventory = pods.runtime.inventory else { return nil }
        var known = Set(inventory.sandboxes.map(\.id))
        known.formUnion(pods.pods.map(\.containerID))
        // The cache's containers: merged into the pods, or stale beside them.
        known.formUnion(pods.stale.map(\.containerID))
        return known
    }

    /// The node's namespace and tables, read in the namespace netdoctor runs in.
    func gatherKernel(into facts: inout NodeCheckFacts) {
        do {
            facts.node = try kernel.open(kernel.node).state()
        } catch {
            facts.collectionProblems.append("the node's namespace: \(error)")
        }
        facts.bridgeNetfilter = BridgeNetfilter.read()
        facts.conntrack = ConntrackFill.read()
        if facts.conntrack != nil {
            let (statistics, problem) = ConntrackReader.statistics(on: node.nodeSockets)
            if let statistics {
                facts.conntrack?.drop = statistics.reduce(0) { $0 + UInt64($1["drop"]) }
                facts.conntrack?.earlyDrop = statistics.reduce(0) { $0 + UInt64($1["early_drop"]) }
            } else if let problem {
                facts.collectionProblems.append(problem)
            }
        }
        facts.neighborTables = IPFamily.allCases.compactMap(NeighborTableFill.read)
        facts.portRanges = LocalPortRanges.read()
    }

    /// kube-proxy's side in brief: how many Services, how many without endpoints, its NodePorts,
    /// and what concerns the whole node (stale or unreadable rules, the cluster DNS Service
    /// without endpoints). No kube-proxy state at all is not judged here: the node may run
    /// without it (a CNI that replaces it); `services` says so.
    func servicesSummary(clusterDNS: [IPAddress]) -> ServicesSummary? {
        let reading = ServiceReader.read(node: node.nodeSockets)
        guard let mode = reading.mode else { return nil }
        let report = ServicesReport(reading: reading, query: nil, places: [:], now: Double(time(nil)))
        let entries = reading.table?.entries ?? []
        let dns = entries.filter { entry in entry.frontends.contains { $0.address.map(clusterDNS.contains) ?? false } }
        let nodeWide = report.findings.filter { [.proxyStale, .serviceRulesUnreadable, .serviceNotProgrammed].contains($0.code) }
        let nodePorts = entries.flatMap { entry in
            entry.frontends.compactMap { frontend -> Int? in
                if case .nodePort(let port) = frontend { return Int(port) }
                return nil
            }
        }
        return ServicesSummary(
            mode: mode.rawValue, services: entries.count, withoutEndpoints: entries.filter(\.endpoints.isEmpty).count,
            nodePorts: nodePorts, findings: nodeWide + (dns.isEmpty ? [] : ServiceChecks.judge(dns, mode: mode, named: true)))
    }
}

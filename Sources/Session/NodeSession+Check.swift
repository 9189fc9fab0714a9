import CNIDetection
import CRI
import Inspection
import KernelState
import NetAddress
import NetlinkCodec
import NodeCheck
import NodeFiles
import PathFacts
import Pods
import RuntimeModel
import Services
import ConfigFormats

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension NodeSession {
    /// check: the whole node, every fact gathered here once, then judged by NodeChecks. Nothing
    /// is sent and nothing changed, unless `probing` (--probe) says how to probe. `runtimeLog`:
    /// the runtime's log file on this machine, when it does not log to the journal.
    /// `journal`: kept by a caller that checks again and again (the watching agent), so each
    /// check reads only what the journal got since the last.
    public func check(runtimeLog: String? = nil, probing: CheckProbing? = nil, journal: JournalWindow? = nil) -> NodeCheckReport {
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
        if let inventory = pods.runtime.inventory {
            let ready = inventory.sandboxes.filter(\.ready).count
            facts.sandboxes = (ready, inventory.sandboxes.count - ready)
        }
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
        gatherReversePaths(into: &facts)
        gatherSandboxFailures(into: &facts, runtimeLog: runtimeLog, journal: journal)
        if let probing { gatherProbes(into: &facts, probing: probing) }
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
        facts.ipam += cloudPools(network, file: active.nodePath, known: known, notRead: &facts.ipamNotRead)
    }

    /// Azure CNI's IPAM file and AWS VPC CNI's ipamd checkpoints, where the active network uses them.
    func cloudPools(_ network: NetworkConfig, file: String, known: Set<String>?, notRead: inout [String]) -> [IPAMUsage] {
        var found: [IPAMUsage] = []
        if let index = network.plugins.firstIndex(where: { $0.ipamType == "azure-vnet-ipam" }) {
            let source = "\(file) plugins[\(index)] (azure-vnet-ipam)"
            do {
                let bytes = try root.read(AzureIPAM.path, limit: 16 << 20)
                if let usage = AzureIPAM.usage(bytes, file: AzureIPAM.path, source: source, known: known) {
                    found.append(usage)
                } else {
                    notRead.append("\(AzureIPAM.path) is not azure-vnet-ipam's state as netdoctor knows it")
                }
            } catch {
                notRead.append("\(source): \(error)")
            }
        }
        if let index = network.plugins.firstIndex(where: { $0.type == "aws-cni" }) {
            let source = "\(file) plugins[\(index)] (aws-cni: ipamd)"
            let names = ((try? root.list(AWSIPAMCheckpoint.directory, withStatus: false)) ?? []).map(\.name).filter {
                $0 == "ipam.json" || ($0.hasPrefix("ipam-nic-") && $0.hasSuffix(".json"))
            }
            var reservations: [IPAMReservation] = []
            var files: [String] = []
            for (path, content) in root.readEach(AWSIPAMCheckpoint.directory, names: names, limit: 16 << 20) {
                switch content {
                case .success(let bytes):
                    if let read = AWSIPAMCheckpoint.reservations(bytes, file: path) {
                        reservations += read
                        files.append(path)
                    } else {
                        notRead.append("\(path) is not ipamd's checkpoint (\(AWSIPAMCheckpoint.version))")
                    }
                case .failure(let error): notRead.append("\(error)")
                }
            }
            if files.isEmpty {
                if names.isEmpty {
                    notRead.append("\(source): no checkpoint in \(AWSIPAMCheckpoint.directory) (aws-node before v1.7 keeps none)")
                }
            } else {
                found.append(AWSIPAMCheckpoint.usage(reservations, files: files, source: source, known: known))
            }
        }
        return found
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
            let access = try kernel.open(kernel.node)
            let state = try access.state()
            facts.node = state
            facts.managedLinks = HostLinkManagers.read(root: root, links: state.links.map { ($0.index, $0.name) })
            facts.rewrittenMACs = UdevMACPolicy.read(root: root, links: state.links.map { ($0.index, $0.name, $0.address, $0.kind) })
            facts.overlays = OverlayUnderlay.read(state) { remote in
                switch access.lookup(RouteQuery(destination: remote)) {
                case .route(let route):
                    return .init(
                        address: remote, interface: route.outputIndex.flatMap(state.name(ofIndex:)), source: route.preferredSource,
                        problem: nil)
                case .noRoute(let why), .failed(let why):
                    return .init(address: remote, interface: nil, source: nil, problem: why)
                }
            }
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
        facts.neighborTables = neighborTables()
        facts.portRanges = LocalPortRanges.read()
    }

    /// The ARP and NDP tables' fill and limits over rtnetlink (RTM_GETNEIGHTBL, as `ip -s ntable`
    /// asks), else from procfs.
    func neighborTables() -> [NeighborTableFill] {
        if let socket = (try? kernel.open(kernel.node))?.handle?.socket,
            let messages = try? socket.dump(RouteRequest.dump(.getNeighborTable)),
            case let tables = messages.compactMap({ (try? NeighborTableInfo($0)) ?? nil }).compactMap(NeighborTableFill.init),
            !tables.isEmpty
        {
            return tables.sorted { $0.family == .ipv4 && $1.family != .ipv4 }
        }
        return IPFamily.allCases.compactMap(NeighborTableFill.read)
    }

    /// kube-proxy's side in brief: how many Services, how many without endpoints, its NodePorts,
    /// and what concerns the whole node (stale or unreadable rules, the cluster DNS Service
    /// without endpoints). No kube-proxy state at all is not judged here: the node may run
    /// without it (a CNI that replaces it); `services` says so.
    func servicesSummary(clusterDNS: [IPAddress]) -> ServicesSummary? {
        let reading = ServiceReader.read(node: node.nodeSockets, bpfRoot: root)
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

    /// At most this much of a log is read (its end); a journal's answer is cut there too.
    static let logByteLimit = 32 << 20

    /// Sandboxes that got no network lately, from the journal (the node's own, or under --root
    /// its persistent journal) and the runtime's log files.
    func gatherSandboxFailures(into facts: inout NodeCheckFacts, runtimeLog: String?, journal window: JournalWindow?) {
        let since = Double(time(nil)) - Double(NodeChecks.logWindowMinutes * 60)
        var failures: [SandboxFailure] = []
        // Where the last check of a long-running caller stopped; a cursor the journal no longer
        // has (rotated, vacuumed) is read again from the window's start.
        var read = readJournal(after: window?.cursor)
        if case .failure = read, window?.cursor != nil { read = readJournal(after: nil) }
        switch read {
        case .success(let journal):
            let new = SandboxFailures.fromJournal(journal.bytes, since: since)
            if let window {
                window.keep(new, continued: journal.continued, since: since, cursor: SandboxFailures.lastCursor(journal.bytes))
                failures += window.failures
            } else {
                failures += new
            }
            facts.logsRead.append(journal.what)
        case .failure(let problem):
            facts.logsNotRead.append(problem.description)
        }
        var files: [(root: NodeRoot, path: String)] = Self.runtimeLogFiles.map { (root, $0) }.filter { root.status($0.path) != nil }
        if let runtimeLog { files.append((NodeRoot("/"), runtimeLog)) }
        for (fileRoot, path) in files {
            do {
                let bytes = try fileRoot.readTail(path, limit: Self.logByteLimit)
                failures += SandboxFailures.fromLogFile(bytes, source: path, since: since)
                facts.logsRead.append(path)
            } catch {
                facts.logsNotRead.append(Printable.line("\(error)"))
            }
        }
        facts.sandboxFailures = SandboxFailures.group(failures)
    }

    /// Where runtimes that do not log to the journal keep their log (k3s and rke2's containerd).
    static let runtimeLogFiles = [
        "/var/lib/rancher/k3s/agent/containerd/containerd.log", "/var/lib/rancher/rke2/agent/containerd/containerd.log",
    ]

    /// The units whose lines can tell of a sandbox's network (the kubelet's run under k3s's and
    /// rke2's own units).
    static let journalUnits = [
        "containerd.service", "crio.service", "kubelet.service", "k3s.service", "k3s-agent.service", "rke2-server.service",
        "rke2-agent.service",
    ]

    struct LogProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// journalctl's JSON for the window (or what came after `cursor`), bounded in entries,
    /// bytes and time; the node's persistent journal under --root.
    func readJournal(after cursor: String?) -> Result<(bytes: [UInt8], what: String, continued: Bool), LogProblem> {
        guard let journalctl = ["/usr/bin/journalctl", "/bin/journalctl"].first(where: { NodeRoot("/").status($0)?.isExecutable == true })
        else { return .failure(LogProblem(description: "the journal: journalctl is not installed here")) }
        var arguments = ["-o", "json", "--no-pager", "-a", "-n", "20000"]
        arguments.append(cursor.map { "--after-cursor=\($0)" } ?? "--since=-\(NodeChecks.logWindowMinutes)min")
        var what = "journal"
        if !root.prefix.isEmpty {
            let directory = root.prefix + "/var/log/journal"
            guard NodeRoot("/").status(directory)?.isDirectory == true else {
                return .failure(LogProblem(description: "the journal: no persistent journal under --root (/var/log/journal)"))
            }
            arguments += ["-D", directory]
            what = "journal \(directory)"
        }
        arguments += Self.journalUnits.flatMap { ["-u", $0] }
        guard
            let result = ChildProcess.run(
                journalctl, arguments: arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 5000,
                outputLimit: Self.logByteLimit)
        else { return .failure(LogProblem(description: "the journal: journalctl could not be started")) }
        if result.timedOut { return .failure(LogProblem(description: "the journal: journalctl took more than 5 s")) }
        guard result.status == 0 else {
            return .failure(LogProblem(description: "the journal: journalctl failed: \(Printable.line(result.errorText))"))
        }
        return .success((result.output, what, cursor != nil))
    }

    /// Each pod's IPv4 addresses: the interface its packets enter the node by, rp_filter there,
    /// and the kernel's route back (from the states and handles the sweep opened).
    func gatherReversePaths(into facts: inout NodeCheckFacts) {
        guard let node = facts.node, let nodeAccess = try? kernel.open(kernel.node) else { return }
        let all = node.sysctls["net.ipv4.conf.all.rp_filter"].flatMap { Int($0) }
        for pod in pods.pods {
            guard let known = try? kernel.namespace(of: pod), let access = try? kernel.open(known), let state = try? access.state(),
                let host = try? Inspector.hostSide(of: pod, state: state, access: access, node: kernel)
            else { continue }
            let arrival = host.veth.masterIndex.flatMap(host.state.link(index:)) ?? host.veth
            let own = host.state.interfaceSetting(.ipv4, "rp_filter", of: arrival.name)
            for address in pod.addresses where address.isIPv4 {
                let (interface, problem): (String?, String?) =
                    switch nodeAccess.lookup(RouteQuery(destination: address)) {
                    case .route(let route): (route.outputIndex.flatMap(node.name(ofIndex:)), nil)
                    case .noRoute(let why), .failed(let why): (nil, why)
                    }
                facts.reversePaths.append(
                    ReversePath(
                        pod: pod.label, address: address, arrival: arrival.name, rpFilter: ReversePath.effective(all: all, interface: own),
                        routeInterface: interface, problem: problem))
            }
        }
    }
}

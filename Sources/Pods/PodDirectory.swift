import CRI
import Diagnosis
import KernelState
import NetAddress
import NetSystem
import NodeFiles
import RuntimeModel

/// Why a pod could not be resolved, with the contract's exit status.
public struct PodLookupError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unknown, ambiguous, namespaceGone, permissionDenied, namespaceMismatch }
    public var kind: Kind
    public var message: String
    public var description: String { message }

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The pods of a node: the runtime's sandboxes (over CRI) when it answers, libcni's result
/// cache always, one merged into the other; what the two sources say against each other is kept
/// as findings.
public struct PodDirectory: Sendable {
    public let pods: [Pod]
    /// Cache files that could not be read for lack of permission.
    public let denied: [String]
    /// How the runtime was asked, and what it answered.
    public let runtime: RuntimeStatus
    /// Cache entries of sandboxes the runtime does not run (or runs not ready): their pods are
    /// gone or stopped, so they name nothing; kept to say so when asked for one.
    public let stale: [Pod]
    /// What the sources say against each other, for the whole node.
    public let crossCheck: [PodNote]
    /// Where the node's files are (to tell which cached namespaces still exist).
    let root: NodeRoot?
    /// The runtime's other ready pods, by name, when only the named ones were loaded: for
    /// saying which pods there are when a name matches none.
    let othersRunning: [String]

    /// A directory of the given pods (none: for commands that name no pod).
    public init(pods: [Pod]) {
        self.init(pods: pods, denied: [], runtime: .notAsked, stale: [], crossCheck: [])
    }

    /// `othersRunning`: the runtime's other ready pods (namespace/name) when only some were loaded.
    init(
        pods: [Pod], denied: [String], runtime: RuntimeStatus, stale: [Pod], crossCheck: [PodNote], root: NodeRoot? = nil,
        othersRunning: [String] = []
    ) {
        self.pods = Self.labelled(pods, othersRunning: othersRunning)
        self.othersRunning = othersRunning
        self.denied = denied
        self.runtime = runtime
        self.stale = stale
        self.crossCheck = crossCheck
        self.root = root
    }

    /// The pods of these cache entries (no runtime asked).
    public init(cacheEntries: [CacheEntry]) {
        self.init(pods: Self.cachePods(cacheEntries), denied: [], runtime: .notAsked, stale: [], crossCheck: [])
    }

    /// The pods of libcni's result cache alone (no runtime asked).
    public init(root: NodeRoot) {
        let cache = CacheEntry.readAllReportingDenied(root: root)
        self.init(
            pods: Self.cachePods(cache.entries.map(\.entry)), denied: cache.denied, runtime: .notAsked, stale: [], crossCheck: [],
            root: root)
    }

    /// Asks the runtime (at `endpoint`, else the kubelet's, else the runtimes' default sockets
    /// under `root`) and reads the cache; the runtime's answer wins where both speak.
    /// `interest`: the pods (names or IPs) the command will look up; only their sandboxes' status
    /// is asked (nil: every sandbox's, as detect-cni's cross-check needs).
    /// `cache`: libcni's result cache when the caller read it already (read here otherwise).
    public static func load(
        root: NodeRoot, endpoint endpointGiven: String? = nil, kubeletEndpoint: String? = nil,
        budget: Duration = RuntimeClient.defaultBudget, interest: [String]? = nil,
        cache given: (entries: [(path: String, entry: CacheEntry)], denied: [String])? = nil
    ) -> PodDirectory {
        let endpoint = RuntimeStatus.endpoint(root: root, given: endpointGiven, kubeletEndpoint: kubeletEndpoint)
        // Pods named by name, with a runtime to ask: only their cache entries are read.
        if let endpoint, let interest, !interest.isEmpty, interest.allSatisfy({ IPAddress.parse($0) == nil }) {
            return loadNamed(interest, root: root, endpoint: endpoint, budget: budget)
        }
        let cache = given ?? CacheEntry.readAllReportingDenied(root: root)
        let cached = cachePods(cache.entries.map(\.entry))
        guard let endpoint else {
            return PodDirectory(
                pods: cached, denied: cache.denied, runtime: .noEndpoint(given: endpointGiven), stale: [], crossCheck: [], root: root)
        }
        let inventory: RuntimeInventory
        do {
            inventory = try RuntimeClient.inventory(
                endpoint, budget: budget, wantsStatus: Self.statusWanted(cached: cached, interest: interest))
        } catch {
            return PodDirectory(
                pods: cached, denied: cache.denied, runtime: .unavailable(endpoint, error), stale: [], crossCheck: [], root: root)
        }
        let merged = PodMerge(cached: cached, inventory: inventory)
        return PodDirectory(
            pods: merged.pods, denied: cache.denied, runtime: .answered(endpoint, inventory),
            stale: merged.stale, crossCheck: merged.notes, root: root)
    }

    /// The pods `names` name, as the runtime lists them, with their cache entries: a command that
    /// names two pods costs the same on a node of a hundred. The runtime's list says which
    /// sandboxes those are; libcni names each cache file after its sandbox, so only theirs (and
    /// those of sandboxes the runtime does not run, to say so when one is named) are read, and
    /// only their status (and that of sandboxes the cache does not know) is asked.
    static func loadNamed(_ names: [String], root: NodeRoot, endpoint: RuntimeEndpoint, budget: Duration) -> PodDirectory {
        let listing = CacheEntry.list(root: root, withStatus: false)
        let byID = Dictionary(grouping: listing.files) { CacheEntry.containerID(inFileName: $0.name) ?? "" }
        let cachedIDs = Set(byID.keys.filter { !$0.isEmpty })
        let wanted = Set(names)
        let named: @Sendable (Runtime_V1_PodSandbox) -> Bool = { item in
            wanted.contains(item.metadata.name) || wanted.contains("\(item.metadata.namespace)/\(item.metadata.name)")
        }
        let inventory: RuntimeInventory
        do {
            inventory = try RuntimeClient.inventory(endpoint, budget: budget) { !cachedIDs.contains($0.id) || named($0) }
        } catch {
            let cache = CacheEntry.read(listing.files, root: root, denied: listing.denied)
            return PodDirectory(
                pods: cachePods(cache.entries.map(\.entry)), denied: cache.denied, runtime: .unavailable(endpoint, error),
                stale: [], crossCheck: [], root: root)
        }
        let ready = Set(inventory.sandboxes.filter(\.ready).map(\.id))
        let namedIDs = Set(
            inventory.sandboxes.filter { wanted.contains($0.name) || wanted.contains("\($0.namespace)/\($0.name)") }.map(\.id))
        // Files whose name says no sandbox (another writer's naming) are read: only they can say.
        let files = byID.filter { id, _ in id.isEmpty || namedIDs.contains(id) || !ready.contains(id) }.flatMap(\.value)
        let cache = CacheEntry.read(files, root: root, denied: listing.denied)
        let merged = PodMerge(cached: cachePods(cache.entries.map(\.entry)), inventory: inventory, cachedIDs: cachedIDs)
        let loaded = Set(merged.pods.map(\.containerID))
        let others = inventory.sandboxes.filter { $0.ready && !loaded.contains($0.id) }
            .map { $0.namespace.isEmpty ? $0.name : "\($0.namespace)/\($0.name)" }
        return PodDirectory(
            pods: merged.pods, denied: cache.denied, runtime: .answered(endpoint, inventory),
            stale: merged.stale, crossCheck: merged.notes, root: root, othersRunning: others)
    }

    /// Each pod labelled by its name, or by namespace/name where another pod of the node (loaded
    /// or only listed as running) has the same name in another namespace.
    static func labelled(_ pods: [Pod], othersRunning: [String]) -> [Pod] {
        var namespacesByName: [String: Set<String>] = [:]
        for pod in pods { namespacesByName[pod.name, default: []].insert(pod.namespace ?? "") }
        for other in othersRunning {
            let parts = other.split(separator: "/", maxSplits: 1).map(String.init)
            if parts.count == 2 {
                namespacesByName[parts[1], default: []].insert(parts[0])
            } else {
                namespacesByName[other, default: []].insert("")
            }
        }
        return pods.map { pod in
            var pod = pod
            pod.label = (namespacesByName[pod.name]?.count ?? 0) > 1 ? pod.fullName : pod.name
            return pod
        }
    }

    /// Which sandboxes' status to ask: those the cache does not know (only the runtime can say
    /// where they are), and those the command will name. An IP no cache entry holds could be
    /// any sandbox's: then every one. `interest` []: no pod named, every pod looked at (check's
    /// sweep): only the sandboxes the cache does not know; the others' namespaces are found by
    /// their addresses, all namespaces read once (libcni before 1.2 writes no netns path).
    static func statusWanted(cached: [Pod], interest: [String]?) -> @Sendable (Runtime_V1_PodSandbox) -> Bool {
        guard let interest else { return { _ in true } }
        let known = Set(cached.map(\.containerID))
        let addresses = interest.compactMap(IPAddress.parse)
        if addresses.contains(where: { address in !cached.contains { $0.addresses.contains(address) } }) { return { _ in true } }
        let holding = Set(cached.filter { pod in addresses.contains(where: pod.addresses.contains) }.map(\.containerID))
        let names = Set(interest.filter { IPAddress.parse($0) == nil })
        return { item in
            !known.contains(item.id) || holding.contains(item.id) || names.contains(item.metadata.name)
                || names.contains("\(item.metadata.namespace)/\(item.metadata.name)")
        }
    }

    /// Groups cache entries by sandbox: one pod each, its attachments ordered, loopback apart.
    static func cachePods(_ entries: [CacheEntry]) -> [Pod] {
        var byContainer: [String: [CacheEntry]] = [:]
        var order: [String] = []
        for entry in entries {
            guard entry.kind == "cniCacheV1", let id = entry.containerID, entry.podName != nil else { continue }
            if byContainer[id] == nil { order.append(id) }
            byContainer[id, default: []].append(entry)
        }
        return order.compactMap { id in
            guard let entries = byContainer[id], let first = entries.first, let name = first.podName else { return nil }
            let (attachments, loopback) = Pod.arrange(entries)
            let netns = (attachments + [loopback].compactMap { $0 }).lazy.compactMap(\.netns).first
            return Pod(
                namespace: first.podNamespace, name: name, containerID: id, attachments: attachments, loopback: loopback,
                netnsPath: netns)
        }
    }

    /// `pod-a`, `NAMESPACE/pod-a`, or one of the pod's IPs.
    public func find(_ query: String) throws(PodLookupError) -> Pod {
        let matches = Self.matching(query, in: pods)
        // One pod twice (a stale entry of an old sandbox beside the live one, the runtime not
        // asked): the sandbox whose namespace still exists is the pod.
        if matches.count > 1, Set(matches.map(\.fullName)).count == 1 {
            let alive = matches.filter { $0.netnsPath.map(namespaceExists) ?? false }
            if alive.count == 1 { return alive[0] }
            throw PodLookupError(
                kind: .ambiguous,
                message:
                    "\(matches[0].fullName) names \(matches.count) sandboxes in libcni's cache (\(matches.map { String($0.containerID.prefix(13)) }.joined(separator: ", "))) and \(alive.isEmpty ? "none" : "more than one") of their namespaces exists: stale entries; the runtime (\(runtime.endpointName)) would say which runs"
            )
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty, let first = denied.first, runtime.inventory == nil {
            throw PodLookupError(
                kind: .permissionDenied,
                message: "cannot read the CNI result cache (\(first): permission denied): run as root to find pods")
        }
        if matches.isEmpty, let gone = Self.matching(query, in: stale).first {
            throw PodLookupError(
                kind: .unknown,
                message:
                    "\(gone.fullName) is only in libcni's result cache: the runtime (\(runtime.endpointName)) runs no ready sandbox \(gone.containerID.prefix(13)) (a stale entry of a deleted or stopped pod)"
            )
        }
        if matches.isEmpty {
            let names = pods.map(\.fullName) + othersRunning
            let known = names.prefix(8).joined(separator: ", ")
            let empty = runtime.inventory == nil ? " (the CNI result cache is empty)" : " (the runtime runs no pod sandbox)"
            throw PodLookupError(
                kind: .unknown,
                message: "no pod \(query) on this node" + (names.isEmpty ? empty : " (pods here: \(known)\(names.count > 8 ? ", …" : ""))"))
        }
        throw PodLookupError(
            kind: .ambiguous,
            message: "\(query) names \(matches.count) pods: \(matches.map(\.fullName).joined(separator: ", ")); say NAMESPACE/NAME")
    }

    /// Whether a namespace path of the node exists (under --root first, then as written).
    func namespaceExists(_ path: String) -> Bool {
        let nodePath = NodeRoot.normalize(path)
        return [root.map { $0.prefix + nodePath }, nodePath].compactMap { $0 }.contains { NetNamespace.identity(of: $0) != nil }
    }

    /// The pod that holds an address, if any.
    public func pod(holding address: IPAddress) -> Pod? { pods.first { $0.addresses.contains(address) } }

    /// Every pod by the addresses it holds (the first pod listed wins a shared one): for many
    /// lookups, where `pod(holding:)` would walk the pods each time.
    public var holders: [IPAddress: Pod] {
        var found: [IPAddress: Pod] = [:]
        for pod in pods { for address in pod.addresses where found[address] == nil { found[address] = pod } }
        return found
    }

    static func matching(_ query: String, in pods: [Pod]) -> [Pod] {
        if let address = IPAddress.parse(query) { return pods.filter { $0.addresses.contains(address) } }
        if query.contains("/") { return pods.filter { $0.fullName == query } }
        return pods.filter { $0.name == query }
    }

    /// What detect-cni says of the node's pods: the runtime's state and every disagreement.
    public var nodeFindings: [Finding] { (runtime.finding.map { [$0] } ?? []) + crossCheck.map(\.finding) }

    /// What a report about these pods should say of where they came from: the runtime's state
    /// when it did not answer, and what the sources disagree on for these pods.
    public func notes(about named: [Pod]) -> [Finding] {
        let notes = runtime.finding.map { [$0] } ?? []
        let ids = Set(named.map(\.containerID))
        return notes + crossCheck.filter { !$0.sandboxes.isDisjoint(with: ids) }.map(\.finding)
    }
}

extension PodDirectory {
    /// The pod's network namespace: the runtime's or the cache's path (under --root first, then
    /// as written), or, when neither names one, the namespace `holder` says holds the pod's
    /// address (LiveNode's index of the states it read); not yet checked to hold the pod's
    /// address (`verify` does, on the state read once: LiveNode).
    public static func locate(
        _ pod: Pod, directory: NamespaceDirectory, holder: (IPAddress) -> KnownNamespace?
    ) throws(PodLookupError) -> KnownNamespace {
        if let path = pod.netnsPath {
            let located: KnownNamespace?
            do {
                located = try directory.namespace(atNodePath: path)
            } catch {
                throw PodLookupError(
                    kind: .permissionDenied,
                    message: "cannot look at \(pod.fullName)'s namespace \(path): \(error.description): run as root")
            }
            guard let found = located else {
                throw PodLookupError(
                    kind: .namespaceGone,
                    message:
                        "the network namespace of \(pod.fullName) (\(path)) is gone: \(pod.source == .cache ? "the cache entry is stale (the pod was deleted or its sandbox recreated)" : "though \(pod.runtime?.name ?? "the runtime") still lists the sandbox (it is being torn down, or its namespace was removed under it)")"
                )
            }
            return found
        }
        guard !pod.addresses.isEmpty else {
            throw PodLookupError(
                kind: .namespaceGone,
                message:
                    "\(pod.fullName) has neither a namespace path nor an address in \(pod.sourceDescription): netdoctor cannot tell which namespace is the pod's"
            )
        }
        if let found = pod.addresses.lazy.compactMap(holder).first { return found }
        throw PodLookupError(
            kind: .namespaceGone,
            message:
                "no network namespace on this node holds \(pod.fullName)'s address \(pod.addresses.map(\.description).joined(separator: ", ")) (the cache has no netns path, and the pod is gone)"
        )
    }

    /// The namespace must hold the pod's primary address: a path reused by another sandbox, or a
    /// cache that names another pod's namespace, must not make netdoctor look at the wrong pod.
    public static func verify(_ namespace: KnownNamespace, holds pod: Pod, addresses held: [IPAddress]) throws(PodLookupError) {
        guard pod.netnsPath != nil, let address = pod.primaryAddress() ?? pod.addresses.first, !held.contains(address) else { return }
        throw PodLookupError(
            kind: .namespaceMismatch,
            message:
                "\(pod.fullName)'s namespace \(pod.netnsPath ?? namespace.name) does not hold its address \(address) (it holds \(held.filter { !$0.isLoopback }.map(\.description).joined(separator: ", ").ifEmpty("no address but loopback"))): \(pod.sourceDescription) and the kernel disagree, so netdoctor will not guess which namespace is the pod's"
        )
    }
}

extension String {
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

import Agent
import ConfigFormats
import Diagnosis
import Dispatch
import NetAddress
import PathFacts
import PathMTU
import Pods
import Session
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// How `agent --watch` probes: how often, how long it waits, which peers and what else.
public struct WatchSettings: Sendable {
    public var intervalSeconds: Double = 30
    /// Each interval is stretched or shrunk by up to this fraction, so that agents started
    /// together do not probe in step.
    public var jitter: Double = 0.1
    public var timeoutMilliseconds: Int32 = 1000
    /// Peers on the ring each node probes (kubenurse's neighbour limit is 10).
    public var ringSize = 3
    /// More node addresses than this node's routes and forwarding entries name.
    public var peers: [IPAddress] = []
    /// A name looked up from a local pod each interval (its resolver's way), and a Service
    /// (ADDR:PORT or NAMESPACE/NAME[:PORT]) connected to.
    public var dnsName: String?
    public var service: String?
    public var incidentLimit = 50
    public init() {}
}

/// What the watcher asks a peer's agent: its name and pods (GET /v1/info), and whether it
/// answers at all (GET /healthz).
public protocol WatchPeer: Sendable {
    /// Where it is asked (ADDR:PORT, [V6]:PORT), for incidents.
    var endpoint: String { get }
    func info() throws -> (node: String, pods: [IPAddress])
    func health() throws
}

/// The agent's watching loop: each interval it finds the other nodes (PeerRing), asks their
/// agents who they are, and probes the few after it on the ring (their agent over TCP, a pod of
/// each with an ICMP echo of the full pod MTU with DF set), plus a DNS name and a Service if
/// configured. A probe that fails is explained by a full trace (with the remote agent's half)
/// the first time, and then at most once per interval: that report is the incident.
public final class Watcher: AgentWatch, @unchecked Sendable {
    public let settings: WatchSettings
    public let node: String
    public let metrics: WatchMetrics
    public let incidents: IncidentLog
    let peer: @Sendable (IPAddress) -> (any WatchPeer)?
    let makeSession: @Sendable () -> NodeSession
    let log: @Sendable (String, [(String, ConfigValue)]) -> Void
    /// Pairs failing at the last probe, and when each was last explained (loop thread only).
    var failing: [String: Double] = [:]
    var known: [IPAddress: (node: String, pods: [IPAddress], asked: Int)] = [:]
    /// When each node address was last found in the kernel's state (the cycle): a peer stays on
    /// the ring for `memoryCycles` after its forwarding entry or route is gone, because that loss
    /// is exactly what the probe must see (OVERLAY_FDB_MISSING would otherwise hide the peer).
    var lastFound: [IPAddress: Int] = [:]
    static let memoryCycles = 30
    static let asksPerCycle = 32
    var cycles = 0
    /// The finding codes `check` gave last interval (their gauges go to 0 when they go).
    var checkCodes: Set<String> = []
    /// The journal read so far: each interval's check reads only what came after.
    let journal = JournalWindow()
    let stopping = Atomic<Bool>(false)

    public init(
        settings: WatchSettings, node: String, incidents: IncidentLog, peer: @escaping @Sendable (IPAddress) -> (any WatchPeer)?,
        session: @escaping @Sendable () -> NodeSession, log: @escaping @Sendable (String, [(String, ConfigValue)]) -> Void
    ) {
        self.settings = settings
        self.node = node
        self.incidents = incidents
        self.peer = peer
        makeSession = session
        self.log = log
        metrics = WatchMetrics(node: node)
    }

    // MARK: AgentWatch

    public var metricsText: String { metrics.text }
    public func incidents(node: String?) -> ConfigValue {
        .fields([("node", .string(self.node)), ("incidents", .array(incidents.list(node: node).map(\.json)))])
    }

    /// Runs the loop on a thread of its own until `stop`.
    public func start() {
        DispatchQueue(label: "netdoctor.watch").async { [self] in
            while !stopping.load(ordering: .relaxed) {
                let started = Self.now()
                cycle()
                let wait = settings.intervalSeconds * (1 + Double.random(in: -settings.jitter...settings.jitter)) - (Self.now() - started)
                var left = max(0.2, wait)
                while left > 0, !stopping.load(ordering: .relaxed) {
                    usleep(UInt32(min(left, 0.2) * 1_000_000))
                    left -= 0.2
                }
            }
        }
    }

    public func stop() { stopping.store(true, ordering: .relaxed) }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    // MARK: one interval

    func cycle() {
        cycles += 1
        let session = makeSession()
        let targets = ring(session)
        metrics.peers(targets.count)
        let source = session.pods.pods.filter { $0.netnsPath != nil }.sorted { $0.fullName < $1.fullName }.first
        var failures: [(key: String, explain: () -> Incident?)] = []
        for target in targets {
            if let failed = probeNode(target) { failures.append(failed) }
            if let source { failures += probePods(target, from: source, session: session) }
        }
        if let source { failures += probeExtras(from: source, session: session) }
        // The node judged whole, on the same session (its pods already read): gauges of what
        // fills up, and findings by code.
        checkCodes = metrics.nodeCheck(session.check(journal: journal), previous: checkCodes)
        let now = Self.now()
        let failedKeys = Set(failures.map(\.key))
        failing = failing.filter { failedKeys.contains($0.key) }
        for failure in failures where (failing[failure.key].map { now - $0 >= settings.intervalSeconds } ?? true) {
            failing[failure.key] = now
            guard let incident = failure.explain() else { continue }
            let added = incidents.add(incident)
            for code in incident.codes { metrics.verdict(code: code, kind: incident.kind, target: incident.targetNode) }
            guard added.count == 1 else { continue }  // the same failure, counted on its incident
            metrics.incident()
            log(
                "incident",
                [
                    ("id", .int(added.id)), ("target", .string(added.target)), ("targetNode", .string(added.targetNode)),
                    ("verdict", .string(added.verdict)), ("codes", .texts(added.codes)),
                ])
        }
    }

    /// The peers this node probes: every node its kernel leads to (and those configured), named
    /// by their agents (asked again every ten intervals), then the ring's next few.
    func ring(_ session: NodeSession) -> [(node: String, address: IPAddress, pods: [IPAddress])] {
        let state = try? session.node.handle(session.directory.node).state()
        for address in (state.map(PeerRing.nodeAddresses) ?? []) + settings.peers { lastFound[address] = cycles }
        lastFound = lastFound.filter { cycles - $0.value <= Self.memoryCycles }
        known = known.filter { lastFound[$0.key] != nil }  // bounded by the addresses still remembered
        let addresses = lastFound.keys.sorted { $0.description < $1.description }.prefix(256)
        // At most 32 agents asked per interval: a large cluster's first rounds learn its nodes
        // over several intervals instead of stalling one.
        for address in addresses.filter({ known[$0].map { cycles - $0.asked >= 10 } ?? true }).prefix(Self.asksPerCycle) {
            if let answer = try? peer(address)?.info() { known[address] = (answer.node, answer.pods, cycles) }
        }
        var byNode: [String: (address: IPAddress, pods: [IPAddress])] = [:]
        for address in addresses {  // in address order: the choice of a dual-stack peer's address is stable
            guard let info = known[address], info.node != node else { continue }
            // A dual-stack peer is reached at either address: IPv4's first, its pods in both families.
            if byNode[info.node] == nil || (byNode[info.node]?.address.isIPv4 == false && address.isIPv4) {
                byNode[info.node] = (address, info.pods)
            }
        }
        return PeerRing.peers(of: node, among: Array(byNode.keys), size: settings.ringSize).compactMap { name in
            byNode[name].map { (name, $0.address, $0.pods) }
        }
    }
}

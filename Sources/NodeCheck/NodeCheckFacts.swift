import CNIDetection
import Diagnosis
import KernelState
import NetAddress
import RuntimeModel

/// Everything `check` knows of the node, gathered once (NodeSession.check) before anything is
/// judged: detect-cni's reading, the runtime's conditions, every pod's own checks, host-local's
/// pools, the node namespace's state and tables, and a summary of kube-proxy's.
public struct NodeCheckFacts: Sendable {
    /// detect-cni's report: its findings are the configuration's, not judged again here.
    public var configuration: DetectCNIReport
    /// The runtime's name as it answered, or its endpoint.
    public var runtimeName: String
    /// The runtime's own conditions (CRI Status); nil when it was not asked or did not answer.
    public var runtimeConditions: [RuntimeCondition]?
    /// The runtime's sandboxes by state; nil when it did not answer. NotReady ones are counted,
    /// not judged: the kubelet keeps a restarted or deleted pod's old sandbox until it collects it,
    /// and one whose network failed is said by SANDBOX_NETWORK_FAILED from the logs.
    public var sandboxes: (ready: Int, notReady: Int)?
    /// The pods swept, and what their own checks found (inspect's, per pod; the cache against
    /// the runtime).
    public var pods: PodSweep
    public var ipam: [IPAMUsage]
    /// Pools of the active network that were not read, one line each (another IPAM, no subnet.env).
    public var ipamNotRead: [String]
    /// The kubelet's maxPods and where it came from.
    public var maxPods: (value: Int, source: String)
    /// The node's namespace; nil when it could not be read (a collection problem says why).
    public var node: NamespaceState?
    public var bridges: [BridgeExpectation]
    /// CNI links a host network manager claims.
    public var managedLinks: [ManagedLink] = []
    /// CNI links udev gave the MAC of its MACAddressPolicy=persistent.
    public var rewrittenMACs: [RewrittenMAC] = []
    /// Each pod's way into the node and the route back to it (rp_filter).
    public var reversePaths: [ReversePath] = []
    /// The node's VXLAN devices and the routes to their peers.
    public var overlays: [OverlayUnderlay] = []
    /// subnet.env, when the active network is flannel's; with the network's file.
    public var flannel: (subnet: FlannelSubnet, source: String)?
    public var bridgeNetfilter: BridgeNetfilter
    public var conntrack: ConntrackFill?
    public var neighborTables: [NeighborTableFill]
    public var portRanges: LocalPortRanges?
    public var services: ServicesSummary?
    /// Sandboxes that got no network lately, by cause; which logs were read and which not.
    public var sandboxFailures: [SandboxFailureGroup] = []
    public var logsRead: [String] = []
    public var logsNotRead: [String] = []
    /// What --probe sent and what came back; nil without it (nothing sent).
    public var probes: CheckProbes?
    /// What could not be read, one line each: becomes one COLLECTION_FAILED warning.
    public var collectionProblems: [String]

    public init(configuration: DetectCNIReport, runtimeName: String, maxPods: (value: Int, source: String)) {
        self.configuration = configuration
        self.runtimeName = runtimeName
        self.maxPods = maxPods
        runtimeConditions = nil
        pods = PodSweep(count: 0, findings: [], withProblems: [])
        ipam = []
        ipamNotRead = []
        node = nil
        bridges = []
        flannel = nil
        bridgeNetfilter = BridgeNetfilter(callIptables: nil, callIp6tables: nil)
        conntrack = nil
        neighborTables = []
        portRanges = nil
        services = nil
        collectionProblems = []
    }
}

/// Every pod of the node, checked once each with the checks `inspect` runs for one.
public struct PodSweep: Sendable {
    public var count: Int
    /// The pods' findings, each already naming its pod.
    public var findings: [Finding]
    /// The pods with a warning or an error, by name.
    public var withProblems: [String]

    public init(count: Int, findings: [Finding], withProblems: [String]) {
        self.count = count
        self.findings = findings
        self.withProblems = withProblems
    }
}

/// kube-proxy's side, briefly: `services` has the details.
public struct ServicesSummary: Sendable {
    /// kube-proxy's mode, as `services` tells it; nil when no rules were found.
    public var mode: String?
    public var services: Int
    public var withoutEndpoints: Int
    /// The NodePorts programmed.
    public var nodePorts: [Int]
    /// What `services` found that concerns the whole node: stale rules, unreadable rules, the
    /// cluster DNS Service without endpoints.
    public var findings: [Finding]

    public init(mode: String?, services: Int, withoutEndpoints: Int, nodePorts: [Int], findings: [Finding]) {
        self.mode = mode
        self.services = services
        self.withoutEndpoints = withoutEndpoints
        self.nodePorts = nodePorts
        self.findings = findings
    }
}

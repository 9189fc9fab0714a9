import KernelState
import NetAddress
import NetlinkCodec

/// One place on the path where netdoctor looks: an interface in a namespace, of this node (its
/// namespace known here) or of another (as that node's agent named it).
public struct TraceHop: Sendable {
    public enum Role: String, Sendable {
        case source, hostSide = "host side", bridge, overlay, underlay, output, destinationHostSide = "destination host side", destination
    }

    public var name: String
    /// The namespace on this node; nil for a hop of another node (its namespace is not here).
    public var namespace: KnownNamespace?
    /// The namespace as reports name it (a remote one as its agent did).
    public var namespaceName: String
    public var interface: String
    public var role: Role
    public var link: Link?
    /// The node whose namespace this is, when it is not this one (a hop its agent watched).
    public var node: String?
    /// A remote hop's MTU and state, as its agent read them (its link is not readable here).
    public var remoteMTU: UInt32?
    public var remoteUp: Bool?

    /// A hop of this node.
    public init(name: String, namespace: KnownNamespace, interface: String, role: Role, link: Link?) {
        self.name = name
        self.namespace = namespace
        namespaceName = namespace.name
        self.interface = interface
        self.role = role
        self.link = link
    }

    /// A hop another node's agent watched.
    public init(name: String, remote node: String, namespace: String, interface: String, role: Role, mtu: UInt32?, up: Bool?) {
        self.name = name
        namespaceName = namespace
        self.interface = interface
        self.role = role
        self.node = node
        remoteMTU = mtu
        remoteUp = up
    }

    public var mtu: UInt32? { link?.mtu ?? remoteMTU }
    /// Up as far as the kernel says: IFF_UP set and an operstate that carries packets.
    public var isDown: Bool { link.map { !$0.isUp || $0.operState == .down || $0.operState == .lowerLayerDown } ?? false }
    /// Up as the report says it: this node's link, or what the remote agent read.
    public var isUp: Bool? { link.map { _ in !isDown } ?? remoteUp }
}

/// What the probe's captures saw at one hop: a fact of the probe, beside the path's facts.
public struct HopSeen: Sendable, Equatable {
    public var request: Bool?
    public var reply: Bool?

    public init(request: Bool?, reply: Bool?) {
        self.request = request
        self.reply = reply
    }

    /// Not watched (no capture there).
    public static let unknown = HopSeen(request: nil, reply: nil)
}

/// A hop as a trace reports it: the path's hop and what the probe saw there.
@dynamicMemberLookup
public struct ObservedHop: Sendable {
    public var hop: TraceHop
    public var seen: HopSeen

    public init(_ hop: TraceHop, seen: HopSeen = .unknown) {
        self.hop = hop
        self.seen = seen
    }

    public subscript<T>(dynamicMember path: KeyPath<TraceHop, T>) -> T { hop[keyPath: path] }
    public var requestSeen: Bool? { seen.request }
    public var replySeen: Bool? { seen.reply }

    /// Path hops with what was seen at each (`seen` in the same order; unknown where it is short).
    public static func pairing(_ hops: [TraceHop], _ seen: [HopSeen]) -> [ObservedHop] {
        hops.indices.map { ObservedHop(hops[$0], seen: $0 < seen.count ? seen[$0] : .unknown) }
    }
}

/// A namespace read for a path, and the name findings give it (a pod's, a node's).
public struct NamespaceFacts: Sendable {
    public var known: KnownNamespace
    public var label: String
    public var state: NamespaceState
}

/// A route lookup the gathering asked, why, and the kernel's answer.
public struct LookupFact: Sendable {
    public enum Purpose: String, Sendable {
        /// The source's own route to the destination.
        case sourceRoute
        /// The node's forwarding decision for the request, as it arrives from the source's veth
        /// (or, on the remote node, from the overlay or underlay).
        case forward
        /// Replies arriving where the request left the node (a destination off the pod network).
        case repliesIn
        /// The destination pod's route back to the source.
        case podReplies
        /// The node's forwarding decision for those replies, arriving from the pod's veth.
        case repliesForwarded
        /// The configured FIB entry (its MTU), for the MTU search.
        case configured
        /// The node's route to the tunnel endpoint a BPF datapath sends the request to itself.
        case tunnelUnderlay
    }

    public var purpose: Purpose
    /// The label of the namespace asked.
    public var namespace: String
    public var query: RouteQuery
    public var answer: RouteAnswer
    /// The interface `query.inputIndex` names, for messages.
    public var inputName: String?
}

/// A fact that could not be gathered: reported as such, never judged as a network fault.
public struct CollectionError: Sendable, CustomStringConvertible {
    public var place: String
    public var what: String
    public var description: String { "\(place): \(what)" }

    public init(place: String, what: String) {
        self.place = place
        self.what = what
    }
}

/// Everything a path's checks judge, gathered before any of them runs: the namespaces on the path
/// (each read once), the hops in order, the kernel's answers to the lookups asked, and what could
/// not be gathered. The probe and the captures add what the packets did.
public struct PathFacts: Sendable {
    public var sourceAddress: IPAddress
    public var destinationAddress: IPAddress
    public var destinationName: String
    /// The node these facts were gathered on, as findings name it: nil for this node ("node").
    public var nodeName: String?
    public var namespaces: [NamespaceFacts] = []
    public var hops: [TraceHop] = []
    public var lookups: [LookupFact] = []
    public var collectionErrors: [CollectionError] = []

    /// The source's namespace, its route and interface (the local half only).
    public var source: SourceStep?
    /// The node's part: where the request comes in, and where its forwarding decision sends it.
    public var node: NodeStep?
    /// A destination pod on this node: its interface and host side.
    public var destination: DestinationStep?
    /// The link-layer addresses that answered ARP for the destination on its segment.
    public var addressClaims: [LinkAddress]?
    /// Who answered ARP (IPv4) or a Neighbor Solicitation (IPv6) for the node's next hop, asked
    /// only when the node pins that hop with a permanent (static) neighbour entry.
    public var gatewayClaims: [LinkAddress]?
    /// The neighbour table of the node read again after the probe (a next hop only a sent packet resolves).
    public var neighborsAfterProbe: [Neighbor]?
    /// The source's neighbour table read again after an unanswered probe: its gateway's entry
    /// (a calico pod's 169.254.1.1, answered by proxy ARP) exists only once a packet was sent.
    public var sourceNeighborsAfterProbe: [Neighbor]?
    /// Whether the probe sent along this path was answered (nil: no probe yet). Checks that
    /// predict the path is cut weigh their prediction against it.
    public var probeAnswered: Bool?

    public struct SourceStep: Sendable {
        public var namespace: Int
        public var route: Route?
        public var interface: Link?
    }

    public struct NodeStep: Sendable {
        public var namespace: Int
        /// Where the request enters the node: the source's host veth, or on a remote node the
        /// overlay device or underlay holding the address it was sent to.
        public var arrival: Link
        /// The source's host-side veth (local half).
        public var hostVeth: Link?
        public var forward: Route?
        public var output: Link?
        /// An overlay device the request leaves on, its underlay, and the remote VTEP's address.
        public var overlay: Link?
        public var underlay: Link?
        /// The remote node the request leaves for: the overlay's FDB destination, or the gateway.
        public var remoteAddress: IPAddress?
        /// The underlay gateway, whose neighbour entry only a sent packet creates.
        public var gateway: IPAddress?
        /// On a remote node: the request arrives encapsulated, and there is no overlay device.
        public var missingOverlay = false
        /// The request is tunnelled by a BPF datapath on the host veth (Cilium's), not routed by the
        /// node: what said where to (nil: the kernel's routing decided).
        public var tunnelledBy: String?
    }

    public struct DestinationStep: Sendable {
        public var namespace: Int
        public var podName: String
        public var interface: Link?
        public var hostSide: Link?
    }

    public init(sourceAddress: IPAddress, destinationAddress: IPAddress, destinationName: String, nodeName: String? = nil) {
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
        self.destinationName = destinationName
        self.nodeName = nodeName
    }

    public func namespace(_ index: Int?) -> NamespaceFacts? { index.map { namespaces[$0] } }
    public var nodeNamespace: NamespaceFacts? { namespace(node?.namespace) }
    public var sourceNamespace: NamespaceFacts? { namespace(source?.namespace) }
    public var destinationNamespace: NamespaceFacts? { namespace(destination?.namespace) }
    /// The node as findings name it: this node's "node", or the remote node's own name.
    public var nodeLabel: String { nodeNamespace?.label ?? nodeName ?? KnownNamespace.nodeName }

    public func answer(_ purpose: LookupFact.Purpose) -> RouteAnswer? { lookups.last { $0.purpose == purpose }?.answer }
    /// False only when the source's own lookup answered that there is no route: nothing is worth sending.
    public var sourceHasRoute: Bool { source?.route != nil || answer(.sourceRoute)?.isNoRoute == false }
}

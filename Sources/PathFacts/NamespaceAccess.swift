import KernelState
import NetAddress
import NetlinkCodec
import Pods

/// One namespace as the gathering sees it: its state (read once), the kernel's answers to route
/// lookups, and the namespaces its veths' link-netnsids name. Live, or replayed from a recording.
public protocol NamespaceAccess: RouteOracle {
    var known: KnownNamespace { get }
    /// Links, addresses, routes, neighbours, FDB and sysctls: dumped the first time, kept after.
    func state() throws -> NamespaceState
    /// The neighbour table read again (after a probe has made the kernel resolve a next hop).
    func freshNeighbors() throws -> [Neighbor]
    /// The namespace an IFLA_LINK_NETNSID seen from this one names.
    func peer(nsid: Int32) -> KnownNamespace?
    /// The open namespace, for probes and captures; nil in a replay.
    var handle: NamespaceHandle? { get }
}

/// The node whose paths are gathered: its namespaces, each opened once however many steps of a
/// walk, a probe, a capture and an MTU search look at it.
public protocol NodeAccess: AnyObject {
    var node: KnownNamespace { get }
    /// The namespace's access: the same object every time for the same namespace.
    func open(_ known: KnownNamespace) throws -> any NamespaceAccess
    /// The pod's namespace, checked to hold the pod's address (PodDirectory's rule).
    func namespace(of pod: Pod) throws -> KnownNamespace
    /// The namespaces of many pods, in their order: what a sweep asks (a live node reads them
    /// side by side).
    func namespaces(of pods: [Pod]) -> [Result<KnownNamespace, any Error>]
    /// A namespace by the name reports give it (a veth peer's, as NamespaceView names it).
    func namespace(named name: String) -> KnownNamespace?
    /// The link-layer addresses that answer an ARP probe (IPv4) or a Neighbor Solicitation
    /// (IPv6) for `address` sent on `link` in `namespace`: more than one means the address is
    /// claimed twice. nil: not asked (a replay that recorded none).
    func addressClaims(of address: IPAddress, on link: Link, in namespace: any NamespaceAccess) -> [LinkAddress]?
}

extension NodeAccess {
    public func namespaces(of pods: [Pod]) -> [Result<KnownNamespace, any Error>] {
        pods.map { pod in Result { try namespace(of: pod) } }
    }
}

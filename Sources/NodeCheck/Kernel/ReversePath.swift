import NetAddress

/// Where a pod's packets enter the node and the way back to the pod's address: with strict
/// reverse-path filtering (rp_filter 1, the larger of net.ipv4.conf.all and the interface's), the
/// kernel drops a packet whose source it would not route back out of the interface it came in
/// by. IPv4 only: IPv6 has no rp_filter.
public struct ReversePath: Sendable, Equatable {
    public var pod: String
    public var address: IPAddress
    /// The interface the pod's packets come in by: its host veth, or the bridge it is a port of.
    public var arrival: String
    /// The effective rp_filter there; nil when not read (a node of many veths: their own values).
    public var rpFilter: Int?
    /// The interface the node's route to the pod's address leaves by; nil with `problem`.
    public var routeInterface: String?
    public var problem: String?

    public init(pod: String, address: IPAddress, arrival: String, rpFilter: Int?, routeInterface: String?, problem: String?) {
        self.pod = pod
        self.address = address
        self.arrival = arrival
        self.rpFilter = rpFilter
        self.routeInterface = routeInterface
        self.problem = problem
    }

    /// The larger of `all` and the interface's value, as the kernel takes it; the interface's
    /// unknown: `all` alone when it is already strict (the larger cannot be less).
    public static func effective(all: Int?, interface: Int?) -> Int? {
        switch (all, interface) {
        case (let a?, let i?): max(a, i)
        case (let a?, nil): a >= 1 ? a : nil
        case (nil, let i?): i
        case (nil, nil): nil
        }
    }
}

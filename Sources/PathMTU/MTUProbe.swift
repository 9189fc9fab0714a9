#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import Diagnosis
import Firewall
import KernelState
import NetAddress
import Netlink
import NetSystem
import PathFacts
import Pods

/// One measured path: from a namespace to an address.
public struct ProbedPath: Sendable {
    public var source: String
    public var destination: String
    public var destinationAddress: IPAddress
    public var measurement: PathMeasurement
    /// This node's interfaces along the path.
    public var interfaces: [PathInterface]
    /// For a black hole: this node's rules that drop ICMP "fragmentation needed" (nil: not read).
    public var icmpTooBigDrops: [String]? = nil

    public init(
        source: String, destination: String, destinationAddress: IPAddress, measurement: PathMeasurement, interfaces: [PathInterface]
    ) {
        self.source = source
        self.destination = destination
        self.destinationAddress = destinationAddress
        self.measurement = measurement
        self.interfaces = interfaces
    }

    /// The MTU the source sends with: its outgoing interface's.
    public var interfaceMTU: Int? { interfaces.first { $0.role == .source }?.mtu ?? measurement.localMTU }
    public var expectedMTU: Int? { PathInterfaces.expectedMTU(interfaces) }

    /// The largest packet IP carries at all: 65535 bytes in IPv4 (its total length field), 65535
    /// plus the 40-byte header in IPv6. An interface that allows more (lo's 65536) cannot send
    /// more, so a path over lo, or between two addresses of one namespace, is never a mismatch.
    public static func largestPacket(ipv4: Bool) -> Int { ipv4 ? 65_535 : 65_535 + 40 }

    /// How many bytes the source interface allows beyond what the path carries; nil when none.
    public var mtuExcess: Int? {
        guard let interfaceMTU, let pmtu = measurement.pathMTU else { return nil }
        let excess = min(interfaceMTU, Self.largestPacket(ipv4: destinationAddress.isIPv4)) - pmtu
        return excess > 0 ? excess : nil
    }
}

/// Where a probe starts: a pod's namespace or the node's.
public struct ProbeSource: Sendable {
    public var name: String
    public var namespace: KnownNamespace
    public var pod: Pod?

    public init(name: String, namespace: KnownNamespace, pod: Pod?) {
        self.name = name
        self.namespace = namespace
        self.pod = pod
    }
}

/// Measures paths: DF probes sent from a namespace already open, along interfaces already
/// gathered (PathFacts), by bisection.
public struct MTUProber {
    public var search: PMTUSearch
    public var port: UInt16
    public var method: ProbeMethod

    public init(timeoutMilliseconds: Int32 = 300, port: UInt16 = 33434, method: ProbeMethod = .icmp) {
        search = PMTUSearch(timeoutMilliseconds: timeoutMilliseconds)
        self.port = port
        self.method = method
    }

    /// Gathers the path from `source` (opened through `node`, which a trace has read already)
    /// and measures it.
    public func probe(
        from source: ProbeSource, node: LiveNode, to destination: IPAddress, named destinationName: String
    ) throws -> (ProbedPath, PathFacts) {
        let facts = try PathGatherer(access: node).local(
            from: source.namespace, label: source.name, sourceAddress: nil, to: destination,
            destinationName: destinationName, destinationPod: nil)
        let path = try probe(
            in: try node.handle(source.namespace), source: source.name, interfaces: PathInterfaces.from(facts),
            to: destination, named: destinationName, node: node.nodeSockets)
        return (path, facts)
    }

    /// Measures the path from the handle's namespace to `destination`. `node`: the node's sockets,
    /// where a black hole's firewall rules are looked for.
    public func probe(
        in handle: NamespaceHandle, source: String, interfaces: [PathInterface], to destination: IPAddress,
        named destinationName: String, node: NetlinkSockets
    ) throws -> ProbedPath {
        // The socket is opened inside the source namespace, then used from here.
        let (port, method) = (self.port, self.method)
        let probeSocket = try handle.run { () throws -> ProbeSocket in
            do {
                return try ProbeSocket(destination: destination, port: port, method: method)
            } catch let error as SystemError where method == .icmp && error.isPermission {
                // No raw sockets (no CAP_NET_RAW): UDP needs no privilege.
                return try ProbeSocket(destination: destination, port: port, method: .udp)
            }
        }
        let measurement = search.measure(
            probeSocket, start: PathInterfaces.sourceMTU(interfaces), hint: PathInterfaces.expectedMTU(interfaces))
        var path = ProbedPath(
            source: source, destination: destinationName, destinationAddress: destination, measurement: measurement,
            interfaces: interfaces)
        // A black hole's usual cause: a rule dropping ICMP "fragmentation needed" on this node.
        if case .blackhole = measurement.verdict { path.icmpTooBigDrops = Self.icmpTooBigDrops(destination.family, node: node) }
        return path
    }

    /// Rules on this node that drop ICMP "fragmentation needed" (IPv6: ICMPv6 "packet too big"),
    /// with their counters.
    static func icmpTooBigDrops(_ family: IPFamily, node: NetlinkSockets) -> [String]? {
        guard let rules = FirewallReader.readEverything(in: node, dropping: true, family: family) else { return nil }
        let what = family == .ipv6 ? "ICMPv6 packet-too-big" : "ICMP fragmentation-needed"
        return FirewallReader.icmpTooBigDrops(rules).map { "node firewall drops \(what): \($0.text) (\($0.packets) packets)" }
    }

    static func describe(_ probe: ProbeRecord, family: IPFamily = .ipv4) -> String {
        let what: String
        switch probe.outcome {
        case .passed(let from): what = "passed (answered by \(from.map(\.description) ?? "the destination"))"
        case .fragmentationNeeded(let from, let mtu):
            what = "\(family == .ipv6 ? "packet too big" : "fragmentation needed") from \(from.map(\.description) ?? "a hop"), mtu \(mtu)"
        case .localLimit(let mtu): what = "refused by this host: mtu \(mtu)"
        case .silent: what = "no answer in \(probe.milliseconds) ms"
        case .unreachable(let from, let type, let code, _): what = "ICMP type \(type) code \(code) from \(from.map(\.description) ?? "?")"
        }
        return "probe \(probe.size) bytes: \(what)"
    }
}

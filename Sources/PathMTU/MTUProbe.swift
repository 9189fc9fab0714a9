#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Diagnosis
import Firewall
import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import Pods

/// One measured path: from a namespace to an address.
public struct ProbedPath: Sendable {
    public var source: String
    public var destination: String
    public var destinationAddress: IPAddress
    public var measurement: PathMeasurement
    /// This node's interfaces along the path.
    public var interfaces: [PathInterface]

    /// The MTU the source sends with: its outgoing interface's.
    public var interfaceMTU: Int? { interfaces.first { $0.role == .source }?.mtu ?? measurement.localMTU }
    public var expectedMTU: Int? { PathWalker.expectedMTU(interfaces) }

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

/// Measures paths and turns them into findings.
public struct MTUProber {
    public var directory: NamespaceDirectory
    public var search: PMTUSearch
    public var port: UInt16
    public var method: ProbeMethod

    public init(directory: NamespaceDirectory, timeoutMilliseconds: Int32 = 300, port: UInt16 = 33434, method: ProbeMethod = .icmp) {
        self.directory = directory
        search = PMTUSearch(timeoutMilliseconds: timeoutMilliseconds)
        self.port = port
        self.method = method
    }

    /// Measures the path from `source` to `destination`.
    public func probe(from source: ProbeSource, to destination: IPAddress, named destinationName: String) throws -> ProbedPath {
        let namespace = try directory.open(source.namespace)
        let isNode = source.namespace.name == "node"
        // Both sockets are opened inside the source namespace, then used from here.
        let (probeSocket, routeSocket): (ProbeSocket, RouteSocket) = try {
            let (port, method) = (self.port, self.method)
            let open = { () throws -> (ProbeSocket, RouteSocket) in
                let probe: ProbeSocket
                do {
                    probe = try ProbeSocket(destination: destination, port: port, method: method)
                } catch let error as SystemError where method == .icmp && error.isPermission {
                    // No raw sockets (no CAP_NET_RAW): UDP needs no privilege.
                    probe = try ProbeSocket(destination: destination, port: port, method: .udp)
                }
                return (probe, try RouteSocket())
            }
            return isNode ? try open() : try NamespaceThread.shared.run(in: namespace, open)
        }()
        let state = try NamespaceReader.read(socket: routeSocket) { body in
            isNode ? body() : try NamespaceThread.shared.run(in: namespace, body)
        }
        let interfaces = PathWalker.walk(from: source.namespace, socket: routeSocket, state: state, destination: destination,
                                         directory: directory)
        let measurement = search.measure(probeSocket, start: PathWalker.sourceMTU(interfaces), hint: PathWalker.expectedMTU(interfaces))
        return ProbedPath(source: source.name, destination: destinationName, destinationAddress: destination,
                          measurement: measurement, interfaces: interfaces)
    }

    /// Findings for a measured path: MTU_MISMATCH, PMTU_BLACKHOLE, or a note that all agrees.
    public func findings(for path: ProbedPath, remedy: String) -> [Finding] {
        let m = path.measurement
        var findings: [Finding] = []
        let probes = m.probes.map(Self.describe)
        let hops = path.interfaces.map { $0.label + ($0.role == .underlay ? " − \($0.overhead ?? 0) overhead" : "") }
        guard let pmtu = m.pathMTU else {
            if case .noAnswer(let why) = m.verdict {
                findings.append(Finding(.probeNoAnswer, .error,
                                        "\(path.destination) answered no probe from \(path.source): \(why), so the path MTU cannot be measured.",
                                        hop: path.source, evidence: probes,
                                        remedy: "Check that \(path.destination) is reachable at all (netdoctor trace); it must answer ICMP echo (or, with --protocol udp, UDP to a closed port with port unreachable)."))
            }
            return findings
        }
        let where_ = "\(path.source) → \(path.destination)"
        if case .blackhole = m.verdict {
            var evidence = ["sizes up to \(pmtu) cross; \(m.firstSilentSize.map(String.init) ?? "larger ones") and above vanish, with no ICMP \"fragmentation needed\""] + probes
            if let icmpDrops = blackholeCulprits() { evidence += icmpDrops }
            findings.append(Finding(.pmtuBlackhole, .error,
                                    "Packets above \(pmtu) bytes from \(path.source) to \(path.destination) vanish and no ICMP \"fragmentation needed\" comes back: TCP hangs on large segments.",
                                    hop: where_, evidence: evidence + hops,
                                    remedy: "Let ICMP type 3 code 4 through (it is how senders learn the path MTU), and set the pod MTU to \(pmtu) or less (\(remedy))."))
        }
        if let interfaceMTU = path.interfaceMTU, let excess = path.mtuExcess {
            let source = path.interfaces.first { $0.role == .source }
            var evidence = ["path MTU \(pmtu) measured", "\(source?.label ?? "the source interface") allows \(interfaceMTU)"]
            if case .icmp(let from, let mtu) = m.verdict { evidence.append("ICMP fragmentation needed from \(from.map(\.description) ?? "a hop"), mtu \(mtu)") }
            findings.append(Finding(.mtuMismatch, .error,
                                    "\(source.map { "\($0.name) in \($0.namespace)" } ?? path.source) allows \(interfaceMTU) bytes, but the path to \(path.destination) carries \(pmtu): \(excess) bytes too many.",
                                    hop: source.map { "\($0.namespace):\($0.name)" } ?? path.source,
                                    // The black hole's finding already lists the probes.
                                    evidence: evidence + hops + (findings.isEmpty ? probes : []),
                                    remedy: "Set the pod MTU to \(pmtu) (\(remedy))."))
        }
        return findings
    }

    /// MTU_MISMATCH on the remote node: its destination pod allows more than the measured path
    /// carries, so its large replies (a TCP peer's full segments) do not come back whole.
    public func remoteFindings(for path: ProbedPath, remote: [PathInterface], node: String, remedy: String) -> [Finding] {
        guard let pmtu = path.measurement.pathMTU else { return [] }
        return remote.filter { $0.role == .destination && $0.mtu > pmtu }.map { interface in
            Finding(.mtuMismatch, .error,
                    "\(interface.name) of \(interface.namespace) on \(node) allows \(interface.mtu) bytes, but the path back to \(path.source) carries \(pmtu): its replies above \(pmtu) bytes do not arrive whole.",
                    hop: "\(interface.namespace):\(interface.name)",
                    evidence: ["path MTU \(pmtu) measured from \(path.source)", "\(interface.label) (reported by \(node)'s agent)"]
                        + remote.map { "on \(node): \($0.label)" },
                    remedy: "Set the pod MTU on \(node) to \(pmtu) (\(remedy)).")
        }
    }

    /// Rules on this node that drop ICMP "fragmentation needed", with their counters.
    func blackholeCulprits() -> [String]? {
        guard let rules = FirewallReader.readEverything(in: nil) else { return nil }
        let drops = FirewallReader.icmpTooBigDrops(rules)
        return drops.isEmpty ? nil : drops.map { "node firewall drops ICMP fragmentation-needed: \($0.text) (\($0.packets) packets)" }
    }

    static func describe(_ probe: ProbeRecord) -> String {
        let what: String
        switch probe.outcome {
        case .passed(let from): what = "passed (answered by \(from.map(\.description) ?? "the destination"))"
        case .fragmentationNeeded(let from, let mtu): what = "fragmentation needed from \(from.map(\.description) ?? "a hop"), mtu \(mtu)"
        case .localLimit(let mtu): what = "refused by this host: mtu \(mtu)"
        case .silent: what = "no answer in \(probe.milliseconds) ms"
        case .unreachable(let from, let type, let code, _): what = "ICMP type \(type) code \(code) from \(from.map(\.description) ?? "?")"
        }
        return "probe \(probe.size) bytes: \(what)"
    }
}

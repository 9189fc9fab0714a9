import Cilium
import KernelState
import NetlinkCodec
import NetAddress
import PathFacts
import Services
import Trace

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension NodeSession {
    /// services [SERVICE]: the Service table kube-proxy programmed on this node, each endpoint
    /// placed by this node's routes (and named when it is one of this node's pods).
    public func services(_ query: ServiceQuery?, mode: ProxyMode? = nil) -> ServicesReport {
        let reading = ServiceReader.read(mode: mode, node: node.nodeSockets, bpfRoot: root)
        let shown = query.map { query in reading.table.map { query.matches(in: $0) } ?? [] } ?? reading.table?.entries ?? []
        return ServicesReport(
            reading: reading, query: query, places: places(of: shown.flatMap { $0.endpoints.map(\.address) }),
            conntrack: reading.table == nil ? nil : conntrack(for: shown), now: Double(time(nil)))
    }

    /// The conntrack facts the shown Services need: UDP entries towards their addresses (only
    /// when one is UDP: a busy node's table is large), and the failure counters.
    func conntrack(for entries: [ServiceEntry]) -> ConntrackFacts {
        let udp = Set(entries.filter { $0.proto == "udp" }.flatMap { $0.frontends.compactMap(\.address) })
        let (found, dumpProblem) = udp.isEmpty ? ([], nil) : ConntrackReader.entries(to: udp, on: node.nodeSockets)
        let (statistics, statisticsProblem) = ConntrackReader.statistics(on: node.nodeSockets)
        return ConntrackFacts(
            entries: found.filter { $0.original.proto == 17 }, statistics: statistics,
            problems: [dumpProblem, statisticsProblem].compactMap { $0 })
    }

    /// Where each address is: one of this node's pods, behind one of its bridges or veths, or
    /// past a gateway or tunnel (another node), as a route lookup in the node's namespace says.
    func places(of addresses: [IPAddress]) -> [IPAddress: EndpointPlace] {
        guard !addresses.isEmpty, let handle = try? kernel.open(kernel.node) else { return [:] }
        let state = try? handle.state()
        let unique = Set(addresses)
        // Thousands of endpoints: the main table's longest match, in memory, rather than a
        // lookup each (policy routing is not seen then; a few endpoints get the kernel's answer).
        let table = unique.count > 64 ? state.map { LongestPrefixTable($0.unicastRoutesForLookup) } : nil
        var places: [IPAddress: EndpointPlace] = [:]
        // Cilium's datapath tunnels what its ipcache places on another node, whatever the routes say.
        let ipcache = CiliumDatapath.find(root: root).flatMap { try? $0.ipcache().get() }
        let holders = pods.holders
        for address in unique {
            if let pod = holders[address] {
                places[address] = EndpointPlace(.thisNode, "pod \(pod.fullName)")
                continue
            }
            if let ipcache, case .success(let found?) = ipcache.identity(of: address), let endpoint = found.tunnelEndpoint {
                places[address] = EndpointPlace(.remote, "Cilium's tunnel to \(endpoint) (identity \(found.identity))")
                continue
            }
            let answer =
                table.map { routes -> RouteAnswer in
                    routes.lookup(address).map { .route($0) } ?? .noRoute(why: "no route in the main table")
                } ?? handle.lookup(RouteQuery(destination: address))
            switch answer {
            case .route(let route):
                let device = route.outputIndex.flatMap { state?.link(index: $0) }
                let name = device?.name ?? route.outputIndex.map { "if\($0)" } ?? "?"
                if route.type == .local {
                    places[address] = EndpointPlace(.thisNode, "the node's own address")
                } else if route.gateway == nil, let kind = device?.kind, ["bridge", "veth"].contains(kind) {
                    places[address] = EndpointPlace(.thisNode, "behind \(name)")
                } else {
                    places[address] = EndpointPlace(.remote, "via \(route.gateway.map { "\($0) " } ?? "")dev \(name)")
                }
            case .noRoute(let why): places[address] = EndpointPlace(.unknown, "no route: \(why)")
            case .failed(let why): places[address] = EndpointPlace(.unknown, "not looked up: \(why)")
            }
        }
        return places
    }
}

extension NodeSession {
    /// A trace's destination when it is a Service: a name no pod of this node has, or an address
    /// (with or without a port) one of kube-proxy's frontends has. nil: a pod or a plain IP.
    func serviceDestination(_ destination: String, port: UInt16?, proto: TraceProtocol?) throws -> ServiceDestination? {
        if let address = IPAddress.parse(destination), pods.pod(holding: address) != nil { return nil }
        guard let query = ServiceQuery.parse(destination) else { return nil }
        if case .name = query.target, query.port == nil, (try? pods.find(destination)) != nil { return nil }
        let reading = ServiceReader.read(counters: true, node: node.nodeSockets, bpfRoot: root)
        // ADDRESS:PORT names a Service's frontend, or nothing: never a pod.
        let addressWithPort: Bool
        if case .address = query.target, query.port != nil { addressWithPort = true } else { addressWithPort = false }
        guard let table = reading.table else {
            if addressWithPort { return .notProgrammed(query, reading) }
            if case .name = query.target, IPAddress.parse(destination) == nil {
                throw SessionError(
                    "\(destination) is no pod of this node, and no Service can be looked up: "
                        + (reading.problems.first ?? reading.absence.map { "no kube-proxy state (\($0))" } ?? "no kube-proxy state")
                        + "; for a pod on another node, give its IP")
            }
            return nil
        }
        var entries = query.matches(in: table)
        if let port { entries = entries.filter { $0.frontends.contains { $0.port == port } || $0.name?.port == String(port) } }
        if let proto, proto != .icmp { entries = entries.filter { $0.proto == proto.rawValue } }
        guard !entries.isEmpty else {
            if addressWithPort { return .notProgrammed(query, reading) }
            if case .address = query.target { return nil }  // an IP no rule has: a path trace
            throw SessionError(
                "no pod of this node and no Service \(query) (\(port.map { "port \($0)" } ?? "any port")) in kube-proxy's rules "
                    + "(\(reading.mode?.rawValue ?? "no") mode, \(table.entries.count) service ports); `netdoctor services` lists them")
        }
        guard entries.count == 1, let entry = entries.first else {
            let ports = entries.map { "\($0.name?.port ?? "?") (\($0.proto) \($0.frontends.first.map { String($0.port) } ?? "?"))" }
            throw SessionError("\(query) has several ports: \(ports.joined(separator: ", ")); name one (\(query):PORT or --port)")
        }
        return .service(try ServiceTarget(query: query, entry: entry, reading: reading, port: port))
    }
}

/// What a trace's destination is when it names a Service.
enum ServiceDestination {
    case service(ServiceTarget)
    /// An address and port in no rule of kube-proxy's.
    case notProgrammed(ServiceQuery, ServiceReading)
}

/// The Service a trace goes to: its entry, and the frontend and address the probe is sent to.
struct ServiceTarget {
    var entry: ServiceEntry
    var mode: ProxyMode
    var masqueradeMissing: String?
    var proxyStatus: KubeProxyStatus?
    var frontend: ServiceFrontend
    var address: IPAddress

    init(query: ServiceQuery, entry: ServiceEntry, reading: ServiceReading, port: UInt16?) throws {
        self.entry = entry
        mode = reading.mode ?? .iptables
        masqueradeMissing = reading.table?.masqueradeMissing
        proxyStatus = reading.proxyStatus
        let wanted = query.port.flatMap { UInt16($0) } ?? port
        switch query.target {
        case .address(let address):
            // Its own frontend on that address, else a node port (NODE-IP:NODE-PORT).
            if let own = entry.frontends.first(where: { frontend in
                frontend.address == address && (wanted.map { frontend.port == $0 } ?? true)
            }) {
                frontend = own
            } else if let wanted, entry.frontends.contains(.nodePort(wanted)) {
                frontend = .nodePort(wanted)
            } else {
                throw SessionError("\(query) matches \(entry.label), but none of its frontends")
            }
            self.address = address
        case .name:
            guard
                let own = entry.frontends.first(where: {
                    if case .clusterIP = $0 { return true }; return false
                })
                    ?? entry.frontends.first(where: { $0.address != nil }), let address = own.address
            else {
                throw SessionError("\(entry.label) has no cluster IP on this node; trace NODE-IP:NODE-PORT instead")
            }
            frontend = own
            self.address = address
        }
    }
}

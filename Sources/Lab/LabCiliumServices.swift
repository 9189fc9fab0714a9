import NetAddress

/// The cilium topology's Services: Cilium as kube-proxy's replacement, the lab's Services
/// (LabServices) written into the load balancer's maps on each node as cilium-agent writes them
/// (bpf/lib/lb.h's layouts, docs/cilium.md §3.7 and §9): one frontend per address and port, each
/// with its own id as its reverse-NAT index; its master entry (slot 0) counting the backends,
/// slots 1…n naming them; NodePorts at the surrogate 0.0.0.0 (::) and the node's address; a Local
/// traffic policy's external scope with this node's backends only and its internal scope with
/// all. 1.15's frontends carry no protocol (a TCP and a UDP port at one address share one, as
/// before Cilium 1.17: the first written wins); 1.18's do.
extension Lab {
    /// `state.extraServices`: that many more Services of three (unanswering) backends each, as
    /// the other topologies' kube-proxy rules have them (benchmarks).
    func startCiliumServices(state: inout LabState) throws(LabError) {
        try startServiceBackends(state: &state)
        state.ciliumServices = true
        try programCiliumServices(state: state)
        waitForServiceBackends(state: state)
    }

    /// `withoutBackends`: Service names (namespace/name) whose endpoints are gone (a fault).
    func programCiliumServices(state: LabState, withoutBackends: Set<String> = []) throws(LabError) {
        var addresses: [String: [IPAddress]] = [:]
        for pod in plan.pods {
            guard let attached = try? attachment(pod.key, state: state) else { continue }
            addresses[pod.key] = ([attached.address] + (attached.address6.map { [$0] } ?? [])).compactMap(IPAddress.parse)
        }
        for node in plan.nodes {
            var writer = LabCiliumLoadBalancer(release: plan.ciliumRelease, globals: ciliumGlobals(node))
            try writer.clear()
            for (ports, ipv6) in [(LabServices.ports, false), (plan.family == .dual ? LabServices.ports6 : [], true)] {
                for port in ports {
                    let gone = withoutBackends.contains("\(port.name.namespace)/\(port.name.name)")
                    let pods = gone ? [] : port.pods
                    let backends = pods.compactMap { pod in addresses[pod]?.first { $0.isIPv4 != ipv6 }.map { (pod, $0) } }
                    let local = backends.filter { plan.pod($0.0)?.node == node.name }
                    try writer.add(port, ipv6: ipv6, node: node, backends: backends.map(\.1), localBackends: local.map(\.1))
                }
            }
            for port in LabServices.many(state.extraServices, endpoints: 3) {
                guard let clusterIP = IPAddress.parse(port.clusterIP) else { continue }
                let backends = port.endpoints.compactMap { IPAddress.parse($0.address) }
                try writer.frontend(clusterIP, port.port, proto: 6, flags: 0, backends: backends, targetPort: LabServices.targetPort)
            }
        }
    }
}

/// One node's load-balancer maps, written.
struct LabCiliumLoadBalancer {
    static let nodePortFlag: UInt8 = 0x02
    static let externalLocalFlag: UInt8 = 0x04

    var release: Int
    var globals: String
    private var nextID: UInt16 = 1
    private var nextBackend: UInt32 = 1
    private var backendIDs: [String: UInt32] = [:]
    private var written: Set<[UInt8]> = []
    /// The maps, opened once each.
    private var opened: [String: PinnedMap] = [:]

    init(release: Int, globals: String) {
        self.release = release
        self.globals = globals
    }

    mutating func add(
        _ port: LabServices.Port, ipv6: Bool, node: LabPlan.Node, backends: [IPAddress], localBackends: [IPAddress]
    )
        throws(LabError)
    {
        guard let clusterIP = IPAddress.parse(port.clusterIP) else { return }
        let proto: UInt8 = port.proto == "udp" ? 17 : 6
        try frontend(clusterIP, port.port, proto: proto, flags: 0, backends: backends, targetPort: port.targetPort)
        guard let nodePort = port.nodePort else { return }
        let nodeAddress = IPAddress.parse(ipv6 ? node.underlayAddress6 : node.underlayAddress)
        let surrogate = IPAddress.parse(ipv6 ? "::" : "0.0.0.0")
        for address in [surrogate, nodeAddress].compactMap({ $0 }) {
            let flags = Self.nodePortFlag | (port.externalLocal ? Self.externalLocalFlag : 0)
            try frontend(
                address, nodePort, proto: proto, flags: flags, backends: port.externalLocal ? localBackends : backends,
                targetPort: port.targetPort)
            if port.externalLocal {
                try frontend(address, nodePort, proto: proto, flags: flags, scope: 1, backends: backends, targetPort: port.targetPort)
            }
        }
    }

    /// Every entry of the node's load-balancer maps removed (before they are written again).
    func clear() throws(LabError) {
        for family in ["4", "6"] {
            for map in ["services_v2", "backends_v3", "reverse_nat"] { try PinnedMap(globals + "/cilium_lb\(family)_\(map)").removeAll() }
        }
    }

    private mutating func map(_ name: String) throws(LabError) -> PinnedMap {
        if let map = opened[name] { return map }
        let map = try PinnedMap(globals + "/" + name)
        opened[name] = map
        return map
    }

    /// A frontend: its master entry, a slot per backend, the backends, its reverse NAT.
    mutating func frontend(
        _ address: IPAddress, _ port: UInt16, proto: UInt8, flags: UInt8, scope: UInt8 = 0, backends: [IPAddress], targetPort: UInt16
    ) throws(LabError) {
        let family = address.isIPv4 ? "4" : "6"
        let keyProto = release >= 17 ? proto : 0
        let identity = key(address, port, slot: 0, proto: keyProto, scope: scope)
        guard written.insert(identity).inserted else { return }
        let id = nextID
        nextID += 1
        let services = try map("cilium_lb\(family)_services_v2")
        let backendMap = try map("cilium_lb\(family)_backends_v3")
        try services.update(identity, Self.service(backendID: 0, count: UInt16(backends.count), revNat: id, flags: flags))
        for (slot, backend) in backends.enumerated() {
            let backendID = try backendID(backend, targetPort, proto: proto, map: backendMap)
            try services.update(
                key(address, port, slot: UInt16(slot + 1), proto: keyProto, scope: scope),
                Self.service(backendID: backendID, count: 0, revNat: id, flags: flags))
        }
        // struct lb4_reverse_nat / lb6_reverse_nat: the frontend's address and port; keyed by the index (network order).
        try map("cilium_lb\(family)_reverse_nat").update([UInt8(id >> 8), UInt8(id & 0xFF)], address.bytes + Self.be16(port))
    }

    private mutating func backendID(_ address: IPAddress, _ port: UInt16, proto: UInt8, map: PinnedMap) throws(LabError) -> UInt32 {
        let name = "\(address)/\(port)/\(proto)"
        if let known = backendIDs[name] { return known }
        let id = nextBackend
        nextBackend += 1
        backendIDs[name] = id
        // struct lb4_backend / lb6_backend: address, port (network order), proto, flags (0: active), cluster_id, zone.
        try map.update(Bytes.u32(id), address.bytes + Self.be16(port) + [proto, 0, 0, 0, 0, 0])
        return id
    }

    /// struct lb4_key / lb6_key: address, port (network order), slot, proto (1.17 on), scope.
    private func key(_ address: IPAddress, _ port: UInt16, slot: UInt16, proto: UInt8, scope: UInt8) -> [UInt8] {
        address.bytes + Self.be16(port) + Bytes.u16(slot) + [proto, scope, 0, 0]
    }

    /// struct lb4_service: backend id, count, reverse-NAT index (network order), flags, flags2.
    static func service(backendID: UInt32, count: UInt16, revNat: UInt16, flags: UInt8) -> [UInt8] {
        Bytes.u32(backendID) + Bytes.u16(count) + be16(revNat) + [flags, 0, 0, 0]
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}

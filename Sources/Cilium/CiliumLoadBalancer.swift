import BPF
import NetAddress

/// A frontend of Cilium's load balancer (cilium_lb4_services_v2, cilium_lb6_services_v2) with the
/// backends its slots name (cilium_lb{4,6}_backends_v3), as the datapath sees them.
public struct CiliumFrontend: Sendable, Equatable {
    public var address: IPAddress
    public var port: UInt16
    /// IPPROTO_* from the key (1.17 on; 0: any, as earlier releases always write).
    public var protocolNumber: UInt8
    /// 0 external, 1 internal (a Service with two scopes has an entry for each).
    public var scope: UInt8
    public var flags: UInt8
    public var flags2: UInt8
    public var revNatIndex: UInt16
    public var backends: [CiliumBackend]
    /// Slots the master entry counts whose backend is not in the backends map.
    public var missingBackends: [UInt32]

    public init(
        address: IPAddress, port: UInt16, protocolNumber: UInt8 = 0, scope: UInt8 = 0, flags: UInt8 = 0, flags2: UInt8 = 0,
        revNatIndex: UInt16, backends: [CiliumBackend], missingBackends: [UInt32] = []
    ) {
        self.address = address
        self.port = port
        self.protocolNumber = protocolNumber
        self.scope = scope
        self.flags = flags
        self.flags2 = flags2
        self.revNatIndex = revNatIndex
        self.backends = backends
        self.missingBackends = missingBackends
    }
}

/// A backend of Cilium's load balancer.
public struct CiliumBackend: Sendable, Equatable {
    public var id: UInt32
    public var address: IPAddress
    public var port: UInt16
    public var protocolNumber: UInt8
    /// BE_STATE_*: 0 active; others terminating, quarantined, maintenance (not chosen).
    public var state: UInt8

    public init(id: UInt32, address: IPAddress, port: UInt16, protocolNumber: UInt8 = 6, state: UInt8 = 0) {
        self.id = id
        self.address = address
        self.port = port
        self.protocolNumber = protocolNumber
        self.state = state
    }
}

extension CiliumDatapath {
    /// Every frontend of one family, or why the maps could not be read (a layout no release writes
    /// is refused). Bounded: 65,536 entries a map.
    public func loadBalancer(ipv6: Bool) -> Result<[CiliumFrontend], BPFError> {
        let family = ipv6 ? "6" : "4"
        do {
            let services = try opened("cilium_lb\(family)_services_v2")
            let backends = try opened("cilium_lb\(family)_backends_v3")
            return .success(
                Self.frontends(
                    services: services.entries(limit: 1 << 16).entries, backends: backends.entries(limit: 1 << 16).entries, ipv6: ipv6))
        } catch {
            return .failure(error)
        }
    }

    /// The frontends a services map's entries and a backends map's make, as the datapath reads
    /// them: master entries (slot 0), then each frontend's slots 1 to its count.
    public static func frontends(services: [BPFMapEntry], backends backendEntries: [BPFMapEntry], ipv6: Bool) -> [CiliumFrontend] {
        let addressSize = ipv6 ? 16 : 4
        var backends: [UInt32: CiliumBackend] = [:]
        for entry in backendEntries {
            guard entry.key.count == 4, let value = entry.values.first, value.count >= addressSize + 4,
                let address = IPAddress(wire: value[0..<addressSize])
            else { continue }
            let id = HostOrder.u32(entry.key, at: 0) ?? 0
            backends[id] = CiliumBackend(
                id: id, address: address, port: UInt16(value[addressSize]) << 8 | UInt16(value[addressSize + 1]),
                protocolNumber: value[addressSize + 2], state: value[addressSize + 3])
        }
        var masters: [[UInt8]: (key: [UInt8], value: [UInt8])] = [:]
        var slots: [[UInt8]: [UInt16: UInt32]] = [:]
        for entry in services {
            guard entry.key.count == addressSize + 8, let value = entry.values.first, value.count == 12 else { continue }
            let slot = UInt16(entry.key[addressSize + 2]) | UInt16(entry.key[addressSize + 3]) << 8
            // The frontend's identity: the key without its slot.
            var frontend = entry.key
            frontend[addressSize + 2] = 0
            frontend[addressSize + 3] = 0
            if slot == 0 {
                masters[frontend] = (entry.key, value)
            } else {
                slots[frontend, default: [:]][slot] = HostOrder.u32(value, at: 0) ?? 0
            }
        }
        let frontends = masters.compactMap { frontend, master -> CiliumFrontend? in
            guard let address = IPAddress(wire: master.key[0..<addressSize]) else { return nil }
            let count = UInt16(master.value[4]) | UInt16(master.value[5]) << 8
            let ids = count == 0 ? [] : (1...count).compactMap { slots[frontend]?[$0] }
            return CiliumFrontend(
                address: address, port: UInt16(master.key[addressSize]) << 8 | UInt16(master.key[addressSize + 1]),
                protocolNumber: master.key[addressSize + 4], scope: master.key[addressSize + 5], flags: master.value[8],
                flags2: master.value[9], revNatIndex: UInt16(master.value[6]) << 8 | UInt16(master.value[7]),
                backends: ids.compactMap { backends[$0] }, missingBackends: ids.filter { backends[$0] == nil })
        }
        return frontends.sorted { ($0.address.description, $0.port, $0.scope) < ($1.address.description, $1.port, $1.scope) }
    }

    private func opened(_ name: String) throws(BPFError) -> BPFMap {
        let map = try BPFMap.open(pinned: globalsPath + "/" + name)
        guard CiliumLayouts.layout(of: map.info, pinnedAs: name) != nil else {
            throw BPFError("\(name) has a layout no Cilium release writes: not read")
        }
        return map
    }

}

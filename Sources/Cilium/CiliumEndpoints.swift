import BPF
import NetAddress

/// A pod's endpoint as cilium_lxc keeps it (struct endpoint_key → struct endpoint_info,
/// bpf/lib/common.h; 20 and 48 bytes in every release 1.14 to 1.18): the datapath's view of
/// which device is the pod's, its endpoint id and its security identity.
public struct CiliumEndpoint: Sendable, Equatable {
    public var address: IPAddress
    /// The host-side device's ifindex, as Cilium programmed it.
    public var interfaceIndex: UInt32
    /// The endpoint id (lxc_id): cilium_policy_v2_NNNNN and cilium_call_policy are keyed by it.
    public var endpointID: UInt16
    public var flags: UInt32
    public var mac: LinkAddress?
    public var nodeMAC: LinkAddress?
    /// The pod's security identity (sec_id).
    public var identity: UInt32
    /// 1.17+: the parent device (netkit's primary); 0 before.
    public var parentInterfaceIndex: UInt32

    /// ENDPOINT_F_HOST: the node's own endpoint, not a pod's.
    public var isHost: Bool { flags & 1 != 0 }

    public init(
        address: IPAddress, interfaceIndex: UInt32, endpointID: UInt16, flags: UInt32 = 0, mac: LinkAddress? = nil,
        nodeMAC: LinkAddress? = nil, identity: UInt32, parentInterfaceIndex: UInt32 = 0
    ) {
        self.address = address
        self.interfaceIndex = interfaceIndex
        self.endpointID = endpointID
        self.flags = flags
        self.mac = mac
        self.nodeMAC = nodeMAC
        self.identity = identity
        self.parentInterfaceIndex = parentInterfaceIndex
    }

    /// Key: the address in 16 bytes (IPv4's in the first 4), family at 16 (1 IPv4, 2 IPv6).
    /// Value: ifindex at 0, lxc_id at 6, flags at 8, mac at 16, node_mac at 24 (6 bytes each,
    /// wire order), sec_id at 32, parent_ifindex at 36 (1.17+; padding, zero, before).
    public init?(key: [UInt8], value: [UInt8]) {
        guard key.count == 20, value.count == 48 else { return nil }
        func u32(_ offset: Int) -> UInt32 { HostOrder.u32(value, at: offset) ?? 0 }
        let address: IPAddress?
        switch key[16] {
        case 1: address = IPAddress(wire: key[0..<4])
        case 2: address = IPAddress(wire: key[0..<16])
        default: address = nil
        }
        guard let address else { return nil }
        self.init(
            address: address, interfaceIndex: u32(0), endpointID: UInt16(value[6]) | UInt16(value[7]) << 8, flags: u32(8),
            mac: LinkAddress(Array(value[16..<22])), nodeMAC: LinkAddress(Array(value[24..<30])), identity: u32(32),
            parentInterfaceIndex: u32(36))
    }
}

extension CiliumDatapath {
    /// Every endpoint of cilium_lxc (bounded; its default size is 65,535), or why not.
    public func endpoints() -> Result<[CiliumEndpoint], BPFError> {
        do {
            let map = try BPFMap.open(pinned: globalsPath + "/cilium_lxc")
            guard CiliumLayouts.layout(of: map.info, pinnedAs: "cilium_lxc") != nil else {
                return .failure(
                    BPFError(
                        "cilium_lxc is \(map.info.type) with key \(map.info.keySize) and value \(map.info.valueSize) bytes: no layout Cilium 1.14 to 1.18 writes, not read"
                    ))
            }
            return .success(map.entries(limit: 1 << 16).entries.compactMap { CiliumEndpoint(key: $0.key, value: $0.values.first ?? []) })
        } catch {
            return .failure(error)
        }
    }
}

extension CiliumDatapath {
    /// The program in the endpoint's slot of cilium_call_policy (its id: a lookup of a program
    /// array from user space answers ids), nil when the slot is empty: then what is delivered to
    /// the endpoint misses its policy program (Cilium's 140, Missed tail call).
    public func policyProgram(endpoint: UInt16) -> Result<UInt32?, BPFError> {
        do {
            let map = try BPFMap.open(pinned: globalsPath + "/cilium_call_policy")
            guard CiliumLayouts.layout(of: map.info, pinnedAs: "cilium_call_policy") != nil else {
                return .failure(BPFError("cilium_call_policy has a layout no Cilium release writes: not read"))
            }
            let key = (0..<4).map { UInt8(UInt32(endpoint) >> (8 * UInt32($0)) & 0xFF) }
            return .success(map.lookup(key)?.first.flatMap { HostOrder.u32($0, at: 0) })
        } catch {
            return .failure(error)
        }
    }
}

extension CiliumDatapath {
    /// For a check: whether `endpoint`'s slot holds a program; empty when there is no endpoint
    /// or the slot could not be read (then nothing is said of it).
    public func policySlots(of endpoint: CiliumEndpoint?) -> [UInt16: Bool] {
        guard let endpoint, case .success(let program) = policyProgram(endpoint: endpoint.endpointID) else { return [:] }
        return [endpoint.endpointID: program != nil]
    }
}

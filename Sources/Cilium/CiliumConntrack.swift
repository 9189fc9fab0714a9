import BPF
import NetAddress

/// A connection to a Service as Cilium's conntrack keeps it: the service entry lb4_local (and
/// lb6_local) writes when it picks a backend (bpf/lib/lb.h; docs/cilium.md §3.8), which says
/// which backend and which frontend (its reverse-NAT index) the connection goes to.
public struct CiliumServiceConnection: Sendable, Equatable {
    /// The CT map it was found in (cilium_ct4_global for TCP over IPv4, cilium_ct_any4_global
    /// for the rest; the 6s for IPv6).
    public var map: String
    public var backendID: UInt64
    public var revNatIndex: UInt16
    /// The backend as the backends map has it now; nil when it is no longer there.
    public var backend: CiliumBackend?
}

extension CiliumServiceConnection {
    /// struct ct_entry (56 bytes in every release read): backend_id at 8 (u64), rev_nat_index at
    /// 38 (network order); nil for any other size.
    public init?(map: String, entry value: [UInt8]) {
        guard value.count == 56 else { return nil }
        self.init(
            map: map, backendID: HostOrder.u64(value, at: 8) ?? 0, revNatIndex: UInt16(value[38]) << 8 | UInt16(value[39]), backend: nil)
    }
}

extension CiliumDatapath {
    /// The service entry of a connection from `client`:`clientPort` to the frontend
    /// `frontend`:`frontendPort`; nil when Cilium has none (not load-balanced per packet: with
    /// socket-LB the connection was translated at connect() and has no service entry).
    /// The key as Cilium stores it: daddr the frontend, saddr the client, and the ports of the
    /// packet swapped (dport the client's, sport the frontend's), flags TUPLE_F_SERVICE (4).
    public func serviceConnection(
        client: IPAddress, clientPort: UInt16, frontend: IPAddress, frontendPort: UInt16, protocolNumber: UInt8
    ) -> Result<CiliumServiceConnection?, BPFError> {
        let family = frontend.isIPv4 ? "4" : "6"
        let name = protocolNumber == 6 ? "cilium_ct\(family)_global" : "cilium_ct_any\(family)_global"
        do {
            let map = try BPFMap.open(pinned: globalsPath + "/" + name)
            guard CiliumLayouts.layout(of: map.info, pinnedAs: name) != nil else {
                return .failure(BPFError("\(name) has a layout no Cilium release writes: not read"))
            }
            let key =
                frontend.bytes + client.bytes + [UInt8(clientPort >> 8), UInt8(clientPort & 0xFF)]
                + [UInt8(frontendPort >> 8), UInt8(frontendPort & 0xFF), protocolNumber, 4]
            guard let value = map.lookup(key)?.first, var connection = CiliumServiceConnection(map: name, entry: value) else {
                return .success(nil)
            }
            connection.backend = backend(UInt32(truncatingIfNeeded: connection.backendID), ipv6: !frontend.isIPv4)
            return .success(connection)
        } catch {
            return .failure(error)
        }
    }

    /// One backend of the load balancer by id.
    func backend(_ id: UInt32, ipv6: Bool) -> CiliumBackend? {
        let size = ipv6 ? 16 : 4
        guard let map = try? BPFMap.open(pinned: globalsPath + "/cilium_lb\(ipv6 ? 6 : 4)_backends_v3"),
            CiliumLayouts.layout(of: map.info, pinnedAs: "cilium_lb\(ipv6 ? 6 : 4)_backends_v3") != nil,
            let value = map.lookup((0..<4).map { UInt8(id >> (8 * UInt32($0)) & 0xFF) })?.first, value.count >= size + 4,
            let address = IPAddress(wire: value[0..<size])
        else { return nil }
        return CiliumBackend(
            id: id, address: address, port: UInt16(value[size]) << 8 | UInt16(value[size + 1]), protocolNumber: value[size + 2],
            state: value[size + 3])
    }
}

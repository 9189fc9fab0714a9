import BPF
import NetAddress

/// The ipcache (cilium_ipcache to 1.17, cilium_ipcache_v2 in 1.18; an LPM trie): which security
/// identity Cilium gives an address. Looked up as the datapath does, longest prefix first, with
/// the full prefix of the address (32 static bits, then its own).
public struct CiliumIdentity: Sendable, Equatable {
    public var address: IPAddress
    public var identity: UInt32
    /// Where to tunnel to reach it (the node it lives on); nil when local or not tunnelled.
    public var tunnelEndpoint: IPAddress?

    /// Identities below 256 are Cilium's reserved ones (pkg/identity/numericidentity.go).
    public var reservedName: String? {
        [1: "host", 2: "world", 3: "unmanaged", 4: "health", 5: "init", 6: "remote-node", 7: "kube-apiserver", 8: "ingress"][identity]
    }
}

extension CiliumIdentity {
    /// struct remote_endpoint_info as the ipcache holds it: the identity at 0, the tunnel
    /// endpoint's IPv4 address at 4 (to 1.17, 12 bytes), or 16 bytes at 4 with flags at 23 saying
    /// whether there is one and which family (1.18, 24 bytes). nil for any other size.
    public init?(address: IPAddress, value: [UInt8]) {
        guard value.count == 12 || value.count == 24 else { return nil }
        let identity = HostOrder.u32(value, at: 0) ?? 0
        let tunnel: IPAddress? =
            value.count == 24
            ? (value[23] & 0x02 == 0 ? nil : (value[23] & 0x04 != 0 ? IPAddress(wire: value[4..<20]) : IPAddress(wire: value[4..<8])))
            : IPAddress(wire: value[4..<8]).flatMap { $0.bytes.allSatisfy { $0 == 0 } ? nil : $0 }
        self.init(address: address, identity: identity, tunnelEndpoint: tunnel)
    }
}

extension CiliumDatapath {
    /// The identity of `address` in the ipcache, or nil when it has none (then the datapath
    /// treats it as world); a failure to read is an error.
    public func identity(of address: IPAddress) -> Result<CiliumIdentity?, BPFError> {
        ipcache().flatMap { $0.identity(of: address) }
    }

    /// The ipcache opened once, for many lookups: 1.18's map first, then the older one.
    public func ipcache() -> Result<CiliumIPCache, BPFError> {
        var lastError = BPFError("no ipcache pinned (cilium_ipcache_v2, cilium_ipcache)")
        for name in ["cilium_ipcache_v2", "cilium_ipcache"] {
            guard let map = try? BPFMap.open(pinned: globalsPath + "/" + name) else { continue }
            guard CiliumLayouts.layout(of: map.info, pinnedAs: name) != nil else {
                lastError = BPFError("\(name) has a layout no Cilium release writes: not read")
                continue
            }
            return .success(CiliumIPCache(map: map))
        }
        // No ipcache at all: every address is world to the datapath, which is not an error.
        if lastError.description.hasPrefix("no ipcache") { return .success(CiliumIPCache(map: nil)) }
        return .failure(lastError)
    }
}

/// An opened ipcache (cilium_ipcache or cilium_ipcache_v2), looked up as the datapath looks it up.
public struct CiliumIPCache: Sendable {
    let map: BPFMap?

    public func identity(of address: IPAddress) -> Result<CiliumIdentity?, BPFError> {
        guard let map else { return .success(nil) }
        // struct ipcache_key: prefixlen (host order), cluster id 0, family at 7 (1 IPv4, 2 IPv6),
        // the address at 8 in 16 bytes; the same bytes in every release for cluster 0.
        let length = UInt32(32 + address.bytes.count * 8)
        var key = (0..<4).map { UInt8(length >> (8 * UInt32($0)) & 0xFF) } + [0, 0, 0, address.isIPv4 ? 1 : 2]
        key += address.bytes + [UInt8](repeating: 0, count: 16 - address.bytes.count)
        guard let value = map.lookup(key)?.first else { return .success(nil) }
        return .success(CiliumIdentity(address: address, value: value))
    }
}

extension CiliumDatapath {
    /// The identities the ipcache gives `addresses`: those it has an entry for.
    public func identities(of addresses: [IPAddress]) -> [IPAddress: UInt32] {
        guard case .success(let ipcache) = ipcache() else { return [:] }
        var found: [IPAddress: UInt32] = [:]
        for address in addresses { if case .success(let entry?) = ipcache.identity(of: address) { found[address] = entry.identity } }
        return found
    }
}

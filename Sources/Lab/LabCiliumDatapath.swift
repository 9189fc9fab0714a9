import CLabBPF
import CLibBPF
import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The stand-in of Cilium's datapath on one node of the cilium topology (bpf/lab_cilium.h): its
/// object loaded with every map pinned by Cilium's name under the node root's
/// /sys/fs/bpf/tc/globals (libbpf reuses what is pinned there), then the maps filled as
/// cilium-agent fills them, in the layouts of `release` (docs/cilium.md §3): cilium_lxc with
/// the node's own addresses (ENDPOINT_F_HOST) and its pods; the ipcache (cilium_ipcache, 1.18's
/// cilium_ipcache_v2) with every address of the cluster, its identity and, for another node's,
/// that node's underlay address as the tunnel endpoint; per endpoint a policy map allowing all
/// (an endpoint no policy selects), its slot in cilium_call_policy; the programs on each lxc
/// veth and on cilium_vxlan (tc filters for 1.15, tcx links pinned where Cilium 1.16+ pins them
/// for 1.18).
struct LabCiliumDatapath {
    struct Endpoint {
        var pod: String
        var node: String
        var addresses: [IPAddress]
        var hostInterface: String
        var podNamespace: String
        var identity: UInt32
        var endpointID: UInt16
    }

    /// Cilium's reserved identities (pkg/identity/numericidentity.go).
    static let hostIdentity: UInt32 = 1
    static let worldIdentity: UInt32 = 2
    static let remoteNodeIdentity: UInt32 = 6

    var release: Int
    var globals: String
    var node: LabPlan.Node
    var nodes: [LabPlan.Node]
    var family: LabPlan.Family

    var policyProgram: String { release >= 18 ? "cil_lxc_policy" : "handle_policy" }
    var ipcacheName: String { release >= 18 ? "cilium_ipcache_v2" : "cilium_ipcache" }
    func policyMapName(_ endpointID: UInt16) -> String {
        let digits = String(endpointID)
        return (release >= 18 ? "cilium_policy_v2_" : "cilium_policy_") + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    func program(endpoints: [Endpoint]) throws(LabError) {
        if let missing = BPFLibrary.unavailableReason { throw LabError("the cilium topology needs libbpf: \(missing)") }
        let opened: NetNamespace
        do { opened = try NetNamespace(path: "/run/netns/\(node.namespace)") } catch { throw LabError("\(node.namespace): \(error)") }
        let outcome: Result<Void, LabError>
        do {
            outcome = try NamespaceThread.shared.run(in: opened) { () -> Result<Void, LabError> in
                Result { () throws(LabError) in try programHere(endpoints: endpoints) }
            }
        } catch {
            throw LabError("\(node.namespace): \(error)")
        }
        try outcome.get()
    }

    /// On the node's namespace thread: load, fill, attach.
    private func programHere(endpoints: [Endpoint]) throws(LabError) {
        let object = try load()
        defer { bpf_object__close(object) }
        try writeConfig(object)
        let lxc = try PinnedMap(globals + "/cilium_lxc")
        let ipcache = try PinnedMap(globals + "/" + ipcacheName)
        for address in nodeAddresses(node) {
            try lxc.update(Self.endpointKey(address), Self.endpointInfo(endpointID: 0, identity: Self.hostIdentity, host: true))
        }
        for other in nodes {
            let identity = other == node ? Self.hostIdentity : Self.remoteNodeIdentity
            for address in nodeAddresses(other) {
                try ipcache.update(Self.ipcacheKey(address), ipcacheValue(identity: identity, tunnel: nil))
            }
        }
        for endpoint in endpoints {
            let remote = nodes.first { $0.name == endpoint.node && $0 != node }
            for address in endpoint.addresses {
                try ipcache.update(
                    Self.ipcacheKey(address),
                    ipcacheValue(identity: endpoint.identity, tunnel: remote.flatMap { IPAddress.parse($0.underlayAddress) }))
            }
        }
        guard let policy = bpf_object__find_program_by_name(object, policyProgram) else {
            throw LabError("the stand-in has no \(policyProgram) (scripts/gen-bpf)")
        }
        for endpoint in endpoints where endpoint.node == node.name {
            try addEndpoint(endpoint, object: object, lxc: lxc, policyProgram: bpf_program__fd(policy))
        }
        try attach(object, program: "cil_from_overlay", interface: "cilium_vxlan", ingress: true)
    }

    /// The object for `release`, its maps pinned (or reused) under `globals`.
    func load() throws(LabError) -> OpaquePointer {
        let bpffs = String(globals.dropLast("/tc/globals".count))
        _ = try? Shell.run(["mkdir", "-p", bpffs])
        try Lab.mountBPFFilesystem(at: bpffs)
        _ = try? Shell.run(["mkdir", "-p", globals])
        let (bytes, size) =
            release >= 18
            ? (netdoctor_lab_cilium_118_object(), netdoctor_lab_cilium_118_object_size())
            : (netdoctor_lab_cilium_115_object(), netdoctor_lab_cilium_115_object_size())
        let object = globals.withCString { root -> OpaquePointer? in
            withZeroed(bpf_object_open_opts.self) { options in
                options.pointee.sz = MemoryLayout<bpf_object_open_opts>.size
                options.pointee.pin_root_path = root
                return bpf_object__open_mem(bytes, size, options)
            }
        }
        guard let object else { throw LabError("the Cilium stand-in could not be opened: \(String(cString: strerror(errno)))") }
        let loaded = bpf_object__load(object)
        guard loaded == 0 else {
            bpf_object__close(object)
            throw LabError(
                "the Cilium stand-in could not be loaded: \(String(cString: strerror(-loaded))) \(String(cString: netdoctor_bpf_last_message()))"
            )
        }
        return object
    }

    /// lab_cilium_config: cilium_vxlan's index and the cluster's pod ranges (10.247.0.0/16,
    /// fd00:10:247::/48), each as its first bytes and a mask, as they lie in a packet.
    private func writeConfig(_ object: OpaquePointer) throws(LabError) {
        let vxlan = if_nametoindex("cilium_vxlan")
        guard vxlan > 0 else { throw LabError("no cilium_vxlan on \(node.name)") }
        var value = Bytes.u32(vxlan)
        value += family.hasIPv4 ? [10, 247, 0, 0, 255, 255, 0, 0] : [UInt8](repeating: 0, count: 8)
        value += Bytes.u32(0)
        let range6 = Array(IPAddress.parse("fd00:10:247::")!.bytes.prefix(8))
        value += family.hasIPv6 ? range6 + [255, 255, 255, 255, 255, 255, 0, 0] : [UInt8](repeating: 0, count: 16)
        try PinnedMap(globals + "/lab_cilium_config").update(Bytes.u32(0), value)
    }

    private func addEndpoint(_ endpoint: Endpoint, object: OpaquePointer, lxc: PinnedMap, policyProgram: Int32) throws(LabError) {
        let index = if_nametoindex(endpoint.hostInterface)
        guard index > 0 else { throw LabError("no \(endpoint.hostInterface) for \(endpoint.pod)") }
        let podMAC = Self.mac(of: "eth0", namespace: endpoint.podNamespace)
        let hostMAC = Self.mac(of: endpoint.hostInterface, namespace: node.namespace)
        for address in endpoint.addresses {
            try lxc.update(
                Self.endpointKey(address),
                Self.endpointInfo(
                    ifindex: index, endpointID: endpoint.endpointID, identity: endpoint.identity, mac: podMAC, nodeMAC: hostMAC))
        }
        // The endpoint's policy map: allow all, both ways (the entries of an endpoint no policy selects).
        let name = policyMapName(endpoint.endpointID)
        let map = try PinnedMap.createPolicyMap(name: name, valueSize: release >= 18 ? 8 : 24, at: globals + "/" + name)
        for egress in [false, true] {
            try map.update(Self.policyKey(identity: 0, egress: egress, prefix: 40), policyEntry(deny: false, portBits: 0, wildcard: true))
        }
        try PinnedMap(globals + "/lab_endpoint_policy").update(Bytes.u32(UInt32(endpoint.endpointID)), Bytes.u32(UInt32(map.fd)))
        try PinnedMap(globals + "/cilium_call_policy").update(Bytes.u32(UInt32(endpoint.endpointID)), Bytes.u32(UInt32(policyProgram)))
        try attach(object, program: "cil_from_container", interface: endpoint.hostInterface, ingress: true)
        try attach(object, program: "cil_to_container", interface: endpoint.hostInterface, ingress: false)
    }

    /// A program on an interface's tc hook: a filter (1.15), or a tcx link pinned at
    /// /sys/fs/bpf/cilium/devices/DEV/links/PROGRAM (1.18, where Cilium 1.16+ pins its links).
    func attach(_ object: OpaquePointer, program name: String, interface: String, ingress: Bool) throws(LabError) {
        guard let program = bpf_object__find_program_by_name(object, name) else { throw LabError("the stand-in has no \(name)") }
        let index = Int32(if_nametoindex(interface))
        guard index > 0 else { throw LabError("no interface \(interface)") }
        if release >= 18 {
            let directory = String(globals.dropLast("/tc/globals".count)) + "/cilium/devices/\(interface)/links"
            _ = try? Shell.run(["mkdir", "-p", directory])
            try Lab.attachTCX(program: bpf_program__fd(program), interface: index, ingress: ingress, pin: "\(directory)/\(name)")
            return
        }
        try Lab.attachTC(program: bpf_program__fd(program), interface: index, name: interface, ingress: ingress, replace: true)
    }

    func nodeAddresses(_ node: LabPlan.Node) -> [IPAddress] {
        ((family.hasIPv4 ? [node.underlayAddress, node.podGateway] : [])
            + (family.hasIPv6 ? [node.underlayAddress6, node.podGateway6] : []))
            .compactMap(IPAddress.parse)
    }

    static func mac(of interface: String, namespace: String) -> [UInt8] {
        let words = ((try? Shell.run(["ip", "-n", namespace, "-o", "link", "show", "dev", interface])) ?? "").split(separator: " ")
        guard let at = words.firstIndex(of: "link/ether"), at + 1 < words.count else { return [0, 0, 0, 0, 0, 0] }
        let bytes = words[at + 1].split(separator: ":").compactMap { UInt8($0, radix: 16) }
        return bytes.count == 6 ? bytes : [0, 0, 0, 0, 0, 0]
    }
}

// MARK: the layouts (docs/cilium.md §3)

extension LabCiliumDatapath {
    /// struct endpoint_key: the address in 16 bytes, family (1 IPv4, 2 IPv6), key, cluster_id.
    static func endpointKey(_ address: IPAddress) -> [UInt8] {
        Bytes.padded(address.bytes, to: 16) + [address.isIPv4 ? 1 : 2, 0, 0, 0]
    }

    /// struct endpoint_info (48 bytes): ifindex, lxc_id at 6, flags at 8, mac at 16, node_mac at 24, sec_id at 32.
    static func endpointInfo(
        ifindex: UInt32 = 0, endpointID: UInt16, identity: UInt32, host: Bool = false, mac: [UInt8] = [], nodeMAC: [UInt8] = []
    ) -> [UInt8] {
        var value = Bytes.u32(ifindex) + [0, 0] + Bytes.u16(endpointID) + Bytes.u32(host ? 1 : 0) + Bytes.u32(0)
        value += Bytes.padded(mac, to: 8) + Bytes.padded(nodeMAC, to: 8) + Bytes.u32(identity)
        return Bytes.padded(value, to: 48)
    }

    /// struct ipcache_key: prefixlen (32 static bits and the address's), cluster_id, pad, family, address.
    static func ipcacheKey(_ address: IPAddress) -> [UInt8] {
        Bytes.u32(UInt32(32 + address.bytes.count * 8)) + [0, 0, 0, address.isIPv4 ? 1 : 2] + Bytes.padded(address.bytes, to: 16)
    }

    /// struct remote_endpoint_info: 1.15's 12 bytes (identity, the tunnel endpoint's IPv4 address),
    /// 1.18's 24 (identity, 16 bytes of tunnel endpoint, flags with has_tunnel_ep).
    func ipcacheValue(identity: UInt32, tunnel: IPAddress?) -> [UInt8] {
        let endpoint = tunnel?.bytes ?? [0, 0, 0, 0]
        if release >= 18 { return Bytes.u32(identity) + Bytes.padded(endpoint, to: 16) + [0, 0, 0, tunnel == nil ? 0 : 2] }
        return Bytes.u32(identity) + endpoint + [0, 0, 0, 0]
    }

    /// struct policy_key: prefixlen (40: any protocol and port; 48: a protocol; 64: a port),
    /// identity, egress, protocol, port (network order).
    static func policyKey(identity: UInt32, egress: Bool, prefix: UInt32, protocolNumber: UInt8 = 0, port: UInt16 = 0) -> [UInt8] {
        Bytes.u32(prefix) + Bytes.u32(identity) + [egress ? 1 : 0, protocolNumber, UInt8(port >> 8), UInt8(port & 0xFF)]
    }

    /// struct policy_entry: proxy port, flags (deny; to 1.16 the wildcard bits, from 1.17 the
    /// entry's prefix length of protocol and port in bits 3-7), auth type; 1.15's counters.
    func policyEntry(deny: Bool, portBits: UInt8, wildcard: Bool) -> [UInt8] {
        var flags: UInt8 = deny ? 1 : 0
        if release >= 17 { flags |= portBits << 3 } else if wildcard { flags |= 0b110 }
        return Bytes.padded([0, 0, flags, 0], to: release >= 18 ? 8 : 24)
    }
}

/// Little-endian (host order on the machines the lab runs on) integers and padding.
enum Bytes {
    static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func u16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func padded(_ bytes: [UInt8], to count: Int) -> [UInt8] { bytes + [UInt8](repeating: 0, count: max(0, count - bytes.count)) }
}

/// A map pinned in bpffs, opened for the lab to write (closed with the value).
final class PinnedMap {
    let fd: Int32

    deinit { close(fd) }

    init(_ path: String) throws(LabError) {
        fd = bpf_obj_get(path)
        guard fd >= 0 else { throw LabError("\(path): \(String(cString: strerror(-fd)))") }
    }

    private init(fd: Int32) { self.fd = fd }

    /// An endpoint's policy map, as Cilium creates it (an LPM trie of 16,384 entries, 12-byte
    /// keys, not preallocated), pinned at `path` (an existing one there replaced).
    static func createPolicyMap(name: String, valueSize: UInt32, at path: String) throws(LabError) -> PinnedMap {
        let fd = String(name.prefix(15)).withCString { mapName in
            withZeroed(bpf_map_create_opts.self) { options in
                options.pointee.sz = MemoryLayout<bpf_map_create_opts>.size
                options.pointee.map_flags = UInt32(BPF_F_NO_PREALLOC)
                return bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, mapName, 12, valueSize, 16384, options)
            }
        }
        guard fd >= 0 else { throw LabError("\(name) could not be created: \(String(cString: strerror(-fd)))") }
        unlink(path)
        let pinned = bpf_obj_pin(fd, path)
        guard pinned == 0 else { throw LabError("\(name) could not be pinned: \(String(cString: strerror(-pinned)))") }
        return PinnedMap(fd: fd)
    }

    func update(_ key: [UInt8], _ value: [UInt8]) throws(LabError) {
        let written = key.withUnsafeBytes { k in value.withUnsafeBytes { v in bpf_map_update_elem(fd, k.baseAddress, v.baseAddress, 0) } }
        guard written == 0 else { throw LabError("a map update failed: \(String(cString: strerror(-written)))") }
    }

    /// Every entry deleted (the keys read first: deleting while walking skips some).
    func removeAll() throws(LabError) {
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { throw LabError("a map could not be described") }
        var keys: [[UInt8]] = []
        var current: [UInt8]? = nil
        var next = [UInt8](repeating: 0, count: Int(info.key_size))
        while keys.count < Int(info.max_entries) {
            let status =
                current.map { key in
                    key.withUnsafeBytes { k in next.withUnsafeMutableBytes { bpf_map_get_next_key(fd, k.baseAddress, $0.baseAddress) } }
                }
                ?? next.withUnsafeMutableBytes { bpf_map_get_next_key(fd, nil, $0.baseAddress) }
            guard status == 0 else { break }
            keys.append(next)
            current = next
        }
        for key in keys { try delete(key) }
    }

    func delete(_ key: [UInt8]) throws(LabError) {
        let deleted = key.withUnsafeBytes { bpf_map_delete_elem(fd, $0.baseAddress) }
        guard deleted == 0 else { throw LabError("a map entry could not be deleted: \(String(cString: strerror(-deleted)))") }
    }
}

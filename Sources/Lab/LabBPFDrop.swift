import CLabBPF
import CLibBPF
import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// BPF_DROP: the lab's own tc program (bpf/lab_drop.bpf.c) attached as a CNI or a security agent
/// attaches theirs: a clsact qdisc on the interface, the program as a direct-action filter on
/// its egress hook, dropping every packet to or from one address. The filter holds the program
/// once this process ends; `lab fix` or `lab down` removes it with the qdisc or the namespace.
extension Lab {
    /// Attaches the program to `interface`'s egress (towards the pod behind a host-side veth) in
    /// the node namespace `namespace`, dropping `address`'s traffic.
    func attachLabDrop(namespace: String, interface: String, address: String) throws(LabError) {
        if let missing = BPFLibrary.unavailableReason { throw LabError("BPF_DROP needs libbpf: \(missing)") }
        guard let target = IPAddress.parse(address) else { throw LabError("no address \(address)") }
        let opened: NetNamespace
        do { opened = try NetNamespace(path: "/run/netns/\(namespace)") } catch { throw LabError("\(namespace): \(error)") }
        let outcome: Result<Void, LabError>
        do {
            outcome = try NamespaceThread.shared.run(in: opened) { () -> Result<Void, LabError> in
                Result { () throws(LabError) in try Self.loadAndAttach(interface: interface, target: target) }
            }
        } catch {
            throw LabError("\(namespace): \(error)")
        }
        try outcome.get()
    }

    private static func loadAndAttach(interface: String, target: IPAddress) throws(LabError) {
        let index = Int32(if_nametoindex(interface))
        guard index > 0 else { throw LabError("no interface \(interface)") }
        guard let object = bpf_object__open_mem(netdoctor_lab_drop_object(), netdoctor_lab_drop_object_size(), nil) else {
            throw LabError("the lab's drop program could not be opened: \(String(cString: strerror(errno)))")
        }
        // The kernel keeps what the filter holds (the program and its map); the object goes.
        defer { bpf_object__close(object) }
        let loaded = bpf_object__load(object)
        guard loaded == 0 else {
            throw LabError(
                "the lab's drop program could not be loaded: \(String(cString: strerror(-loaded))) \(String(cString: netdoctor_bpf_last_message()))"
            )
        }
        guard let program = bpf_object__find_program_by_name(object, "lab_drop_probe"),
            let map = bpf_object__find_map_by_name(object, "lab_drop_target")
        else { throw LabError("the lab's drop object lacks its program or map (scripts/gen-bpf)") }
        // struct drop_target: family, three bytes of padding, the address in 16 bytes.
        var value: [UInt8] = [target.isIPv4 ? 4 : 6, 0, 0, 0] + target.bytes
        value += [UInt8](repeating: 0, count: 20 - value.count)
        var key: UInt32 = 0
        let written = value.withUnsafeBytes { bpf_map_update_elem(bpf_map__fd(map), &key, $0.baseAddress, 0) }
        guard written == 0 else { throw LabError("the drop target could not be written: \(String(cString: strerror(-written)))") }
        var hook = bpf_tc_hook()
        hook.sz = MemoryLayout<bpf_tc_hook>.size
        hook.ifindex = index
        hook.attach_point = BPF_TC_EGRESS
        let created = bpf_tc_hook_create(&hook)
        guard created == 0 || created == -EEXIST else {
            throw LabError("no clsact qdisc on \(interface): \(String(cString: strerror(-created)))")
        }
        var options = bpf_tc_opts()
        options.sz = MemoryLayout<bpf_tc_opts>.size
        options.prog_fd = bpf_program__fd(program)
        options.handle = 1
        options.priority = 1
        let attached = bpf_tc_attach(&hook, &options)
        guard attached == 0 else {
            throw LabError("the program could not be attached to \(interface): \(String(cString: strerror(-attached)))")
        }
    }
}

enum BPFLibrary {
    static var unavailableReason: String? { netdoctor_bpf_load_error().map { String(cString: $0) } }
}

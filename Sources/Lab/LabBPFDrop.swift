import CLabBPF
import CLibBPF
import CNetShims
import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// BPF_DROP: the lab's own tc program (bpf/lab_drop.bpf.c) attached as a CNI or a security agent
/// attaches theirs: a clsact qdisc on the interface, the program as a direct-action filter on
/// its egress hook, dropping every packet to or from one address. The filter holds the program
/// once this process ends; `lab down` removes it with the namespace.
/// BPF_DROP_TCX: the same program as a tcx link (kernel 6.6 on), as Cilium 1.16+ attaches
/// its programs, pinned in bpffs (the link lives while pinned): `tc filter show` shows nothing
/// then, only BPF_PROG_QUERY does. `lab down` removes the pins.
extension Lab {
    /// Where the lab pins its tcx links (bpffs mounted there first, if it is not).
    static let pinDirectory = "/sys/fs/bpf/netdoctor-lab"

    /// Attaches the program to `interface`'s egress (towards the pod behind a host-side veth) in
    /// the node namespace `namespace`, dropping `address`'s traffic: a tc filter, or a tcx link.
    /// `program`: lab_drop_probe, cil_to_container (CILIUM_DROP) or calico_tc_main
    /// (CALICO_EBPF_DROP), whose counters map (cilium_metrics, cali_counters3) is then pinned at
    /// `countersPin` (a bpffs mounted at the node root's /sys/fs/bpf first).
    func attachLabDrop(
        namespace: String, interface: String, address: String, tcx: Bool = false, program: String = "lab_drop_probe",
        countersPin: (map: String, path: String)? = nil
    ) throws(LabError) {
        if let missing = BPFLibrary.unavailableReason { throw LabError("BPF_DROP needs libbpf: \(missing)") }
        guard let target = IPAddress.parse(address) else { throw LabError("no address \(address)") }
        let opened: NetNamespace
        do { opened = try NetNamespace(path: "/run/netns/\(namespace)") } catch { throw LabError("\(namespace): \(error)") }
        let outcome: Result<Void, LabError>
        do {
            outcome = try NamespaceThread.shared.run(in: opened) { () -> Result<Void, LabError> in
                Result { () throws(LabError) in
                    try Self.loadAndAttach(
                        interface: interface, target: target, pin: tcx ? "\(Self.pinDirectory)/\(namespace)-\(interface)" : nil,
                        program: program, countersPin: countersPin)
                }
            }
        } catch {
            throw LabError("\(namespace): \(error)")
        }
        try outcome.get()
    }

    private static func loadAndAttach(
        interface: String, target: IPAddress, pin: String?, program programName: String, countersPin: (map: String, path: String)?
    ) throws(LabError) {
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
        guard let program = bpf_object__find_program_by_name(object, programName),
            let map = bpf_object__find_map_by_name(object, "lab_drop_target")
        else { throw LabError("the lab's drop object lacks its program or maps (scripts/gen-bpf)") }
        if let countersPin {
            guard let counters = bpf_object__find_map_by_name(object, countersPin.map) else {
                throw LabError("the lab's drop object has no \(countersPin.map) (scripts/gen-bpf)")
            }
            try pinCounters(bpf_map__fd(counters), at: countersPin.path)
        }
        // struct drop_target: family, three bytes of padding, the address in 16 bytes.
        var value: [UInt8] = [target.isIPv4 ? 4 : 6, 0, 0, 0] + target.bytes
        value += [UInt8](repeating: 0, count: 20 - value.count)
        var key: UInt32 = 0
        let written = value.withUnsafeBytes { bpf_map_update_elem(bpf_map__fd(map), &key, $0.baseAddress, 0) }
        guard written == 0 else { throw LabError("the drop target could not be written: \(String(cString: strerror(-written)))") }
        if let pin { return try attachTCX(program: bpf_program__fd(program), interface: index, ingress: false, pin: pin) }
        try attachTC(program: bpf_program__fd(program), interface: index, name: interface, ingress: false, replace: false)
    }
}

extension Lab {
    /// A tcx link on the interface's ingress or egress (BPF_TCX_INGRESS 46, BPF_TCX_EGRESS 47:
    /// libbpf 1.1's headers predate them; the kernel takes the numbers), pinned so it outlives
    /// this process.
    static func attachTCX(program: Int32, interface: Int32, ingress: Bool, pin: String) throws(LabError) {
        try mountBPFFilesystem()
        mkdir(pinDirectory, 0o700)
        let link = bpf_link_create(program, interface, bpf_attach_type(ingress ? 46 : 47), nil)
        guard link >= 0 else {
            throw LabError("no tcx link (a kernel before 6.6?): \(String(cString: strerror(-link)))")
        }
        defer { close(link) }
        unlink(pin)
        let pinned = bpf_obj_pin(link, pin)
        guard pinned == 0 else { throw LabError("the tcx link could not be pinned at \(pin): \(String(cString: strerror(-pinned)))") }
    }

    /// A bpffs at `path` (/sys/fs/bpf, as Cilium and systemd mount it, or a node root's), mounted
    /// when none is there; each mount of bpffs is an instance of its own.
    static func mountBPFFilesystem(at path: String = "/sys/fs/bpf") throws(LabError) {
        var info = statfs()
        if statfs(path, &info) == 0, UInt32(truncatingIfNeeded: info.f_type) == 0xCAFE_4A11 { return }
        guard mount("bpf", path, "bpf", 0, nil) == 0 else {
            throw LabError("bpffs could not be mounted at \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// A counters map pinned where its datapath pins it, under a node root: a bpffs of its own
    /// mounted at ROOT/sys/fs/bpf (each bpffs mount is a new instance), the directories made.
    fileprivate static func pinCounters(_ fd: Int32, at path: String) throws(LabError) {
        guard let range = path.range(of: "/sys/fs/bpf/") else { throw LabError("not a bpffs path: \(path)") }
        let mountPoint = String(path[..<range.upperBound].dropLast())
        _ = try? Shell.run(["mkdir", "-p", mountPoint])
        try mountBPFFilesystem(at: mountPoint)
        _ = try? Shell.run(["mkdir", "-p", String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])])
        unlink(path)
        let pinned = bpf_obj_pin(fd, path)
        guard pinned == 0 else { throw LabError("the counters could not be pinned at \(path): \(String(cString: strerror(-pinned)))") }
    }

    /// The node roots' bpffs mounts (CILIUM_DROP's, CALICO_EBPF_DROP's, the cilium topology's),
    /// taken down with what is pinned there.
    func unmountNodeBPF() {
        for node in plan.nodes { umount2(plan.nodeRoot(node) + "/sys/fs/bpf", Int32(MNT_DETACH)) }
    }

    /// The lab's pinned links, removed (their programs go with them).
    static func removePins() {
        guard let directory = opendir(pinDirectory) else { return }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { unlink("\(pinDirectory)/\(name)") }
        }
        closedir(directory)
        rmdir(pinDirectory)
    }
}

extension Lab {
    /// A program as a direct-action tc filter on the interface's ingress or egress (the clsact
    /// qdisc made if it is not there), `replace`: over a filter of the same handle.
    static func attachTC(program: Int32, interface index: Int32, name: String, ingress: Bool, replace: Bool) throws(LabError) {
        let (created, attached) = withZeroed(bpf_tc_hook.self) { hook -> (Int32, Int32) in
            hook.pointee.sz = MemoryLayout<bpf_tc_hook>.size
            hook.pointee.ifindex = index
            hook.pointee.attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS
            let created = bpf_tc_hook_create(hook)
            guard created == 0 || created == -EEXIST else { return (created, 0) }
            return withZeroed(bpf_tc_opts.self) { options in
                options.pointee.sz = MemoryLayout<bpf_tc_opts>.size
                options.pointee.prog_fd = program
                options.pointee.handle = 1
                options.pointee.priority = 1
                if replace { options.pointee.flags = UInt32(BPF_TC_F_REPLACE.rawValue) }
                return (0, bpf_tc_attach(hook, options))
            }
        }
        guard created == 0 || created == -EEXIST else {
            throw LabError(
                "no clsact qdisc on \(name): \(String(cString: strerror(-created))) \(String(cString: netdoctor_bpf_last_message()))")
        }
        guard attached == 0 else {
            throw LabError(
                "the program could not be attached to \(name): \(String(cString: strerror(-attached))) \(String(cString: netdoctor_bpf_last_message()))"
            )
        }
    }
}

enum BPFLibrary {
    static var unavailableReason: String? { netdoctor_bpf_load_error().map { String(cString: $0) } }
}

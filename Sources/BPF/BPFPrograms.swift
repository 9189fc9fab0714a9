import CLibBPF

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A loaded BPF program as the kernel describes it (BPF_OBJ_GET_INFO_BY_FD): what `bpftool prog
/// show id N` prints first.
public struct BPFProgram: Sendable, Equatable {
    public var id: UInt32
    /// The kernel's name for it: 15 characters at most (`cil_from_contai`).
    public var name: String
    /// The tag: a hash of its instructions, the same for the same program wherever loaded.
    public var tag: String
    public var type: BPFProgramType
    /// Its BTF's id (0: none).
    public var btfID: UInt32

    public init(id: UInt32, name: String, tag: String, type: BPFProgramType, btfID: UInt32 = 0) {
        self.id = id
        self.name = name
        self.tag = tag
        self.type = type
        self.btfID = btfID
    }

    /// Who loaded it, where its name says (the kernel keeps no owner): Cilium's `cil_*`,
    /// Calico's `calico_*`/`cali_*`, the lab's own; nil when the name says nothing.
    public var owner: String? { ProgramOwner.of(name) }
}

/// BPF_PROG_TYPE_* (include/uapi/linux/bpf.h), by name.
public struct BPFProgramType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let schedCls = BPFProgramType(rawValue: 3)
    public static let schedAct = BPFProgramType(rawValue: 4)
    public static let xdp = BPFProgramType(rawValue: 6)
    public static let rawTracepoint = BPFProgramType(rawValue: 17)

    static let names: [UInt32: String] = [
        1: "socket_filter", 2: "kprobe", 3: "sched_cls", 4: "sched_act", 5: "tracepoint", 6: "xdp", 7: "perf_event",
        8: "cgroup_skb", 9: "cgroup_sock", 10: "lwt_in", 11: "lwt_out", 12: "lwt_xmit", 13: "sock_ops", 14: "sk_skb",
        15: "cgroup_device", 16: "sk_msg", 17: "raw_tracepoint", 18: "cgroup_sock_addr", 19: "lwt_seg6local",
        20: "lirc_mode2", 21: "sk_reuseport", 22: "flow_dissector", 23: "cgroup_sysctl", 24: "raw_tracepoint_writable",
        25: "cgroup_sockopt", 26: "tracing", 27: "struct_ops", 28: "ext", 29: "lsm", 30: "sk_lookup", 31: "syscall",
        32: "netfilter",
    ]
    public var description: String { Self.names[rawValue] ?? "type \(rawValue)" }

    /// Programs that sit on a packet's path at an interface and can drop it there.
    public var isOnInterfacePath: Bool { self == .schedCls || self == .schedAct || self == .xdp }
}

/// Who a program belongs to, by the names the datapaths give theirs.
public enum ProgramOwner {
    public static func of(_ name: String) -> String? {
        if name.hasPrefix("cil_") || name.hasPrefix("cilium") || name.hasPrefix("bpf_lxc") || name.hasPrefix("bpf_host") { return "Cilium" }
        if name.hasPrefix("calico_") || name.hasPrefix("cali_") || name.hasPrefix("xdp_calico") { return "Calico" }
        if name.hasPrefix("lab_drop") { return "netdoctor lab (lab break BPF_DROP)" }
        if name.hasPrefix("netdoctor_") { return "netdoctor" }
        return nil
    }
}

public enum BPFPrograms {
    /// The program with this id.
    public static func program(id: UInt32) throws(BPFError) -> BPFProgram {
        let fd = bpf_prog_get_fd_by_id(id)
        guard fd >= 0 else { throw .failed("BPF program \(id) could not be opened", returned: fd) }
        defer { close(fd) }
        return try program(fd: fd)
    }

    static func program(fd: Int32) throws(BPFError) -> BPFProgram {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let status = bpf_obj_get_info_by_fd(fd, &info, &length)
        guard status == 0 else { throw .failed("BPF program information could not be read", returned: status) }
        var name = BPFText.cString(info.name)
        if name.utf8.count == 15, let full = fullName(fd: fd, info: info), full.hasPrefix(name) { name = full }
        return BPFProgram(
            id: info.id, name: name, tag: BPFText.hex(info.tag), type: BPFProgramType(rawValue: info.type), btfID: info.btf_id)
    }

    /// The kernel keeps 15 characters of a program's name (`cil_from_contai`); its BTF keeps the
    /// function's whole name, as bpftool shows it: the first func_info record (the entry
    /// function) names its type in the program's BTF. nil when the program has no BTF.
    static func fullName(fd: Int32, info: bpf_prog_info) -> String? {
        guard info.btf_id != 0, info.nr_func_info > 0, info.func_info_rec_size >= UInt32(MemoryLayout<bpf_func_info>.size) else {
            return nil
        }
        var record = [UInt8](repeating: 0, count: Int(info.func_info_rec_size))
        var again = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        let status = record.withUnsafeMutableBytes { buffer -> Int32 in
            again.nr_func_info = 1
            again.func_info_rec_size = info.func_info_rec_size
            again.func_info = UInt64(UInt(bitPattern: buffer.baseAddress))
            return bpf_obj_get_info_by_fd(fd, &again, &length)
        }
        guard status == 0, let btf = btf__load_from_kernel_by_id(info.btf_id) else { return nil }
        defer { btf__free(btf) }
        let typeID = record.withUnsafeBytes { $0.load(fromByteOffset: 4, as: UInt32.self) }
        guard let type = btf__type_by_id(btf, typeID), let text = btf__name_by_offset(btf, type.pointee.name_off) else { return nil }
        let name = String(cString: text)
        return name.isEmpty ? nil : name
    }

    /// Every program the kernel has loaded, by id (BPF_PROG_GET_NEXT_ID): programs are the
    /// kernel's, not a namespace's, so this is the node's whole list. Programs that go away while
    /// it is read are left out.
    public static func loaded() throws(BPFError) -> [BPFProgram] {
        var programs: [BPFProgram] = []
        var id: UInt32 = 0
        while true {
            var next: UInt32 = 0
            let status = bpf_prog_get_next_id(id, &next)
            if status != 0 {
                let code = status < 0 ? -status : errno
                if code == ENOENT { return programs }
                throw .failed("the kernel's BPF programs could not be listed", returned: status)
            }
            if let program = try? program(id: next) { programs.append(program) }
            id = next
        }
    }
}

import CLibBPF

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A BPF link (BPF_LINK_GET_NEXT_ID, BPF_OBJ_GET_INFO_BY_FD): an attachment the kernel holds as
/// an object of its own, as tcx, netkit and XDP links are (Cilium 1.16+ pins them). What
/// `bpftool link show` prints first.
public struct BPFLink: Sendable, Equatable {
    public var id: UInt32
    /// BPF_LINK_TYPE_*: 6 xdp, 11 tcx, 13 netkit, …
    public var type: UInt32
    public var programID: UInt32
    /// For xdp, tcx and netkit links: the interface (in the namespace it was made in) and, for
    /// tcx and netkit, the attach point (BPF_TCX_INGRESS 46, EGRESS 47, BPF_NETKIT_PRIMARY 54, PEER 55).
    public var interfaceIndex: Int32?
    public var attachType: UInt32?

    public init(id: UInt32, type: UInt32, programID: UInt32, interfaceIndex: Int32? = nil, attachType: UInt32? = nil) {
        self.id = id
        self.type = type
        self.programID = programID
        self.interfaceIndex = interfaceIndex
        self.attachType = attachType
    }

    static let typeNames: [UInt32: String] = [
        1: "raw_tracepoint", 2: "tracing", 3: "cgroup", 4: "iter", 5: "netns", 6: "xdp", 7: "perf_event", 8: "kprobe_multi",
        9: "struct_ops", 10: "netfilter", 11: "tcx", 12: "uprobe_multi", 13: "netkit", 14: "sockmap",
    ]
    public var typeName: String { Self.typeNames[type] ?? "type \(type)" }

    /// struct bpf_link_info as the kernel fills it: type, id, prog_id, then (at 16) the union
    /// whose xdp, tcx and netkit members begin with the ifindex (tcx and netkit: attach_type next).
    public init?(info bytes: [UInt8]) {
        func u32(_ offset: Int) -> UInt32? { HostOrder.u32(bytes, at: offset) }
        guard let type = u32(0), let id = u32(4), let program = u32(8) else { return nil }
        self.init(id: id, type: type, programID: program)
        if [6, 11, 13].contains(type) { interfaceIndex = u32(16).map { Int32(bitPattern: $0) } }
        if [11, 13].contains(type) { attachType = u32(20) }
    }
}

public enum BPFLinks {
    /// Every link the kernel holds; links that go away while read are left out.
    public static func loaded() throws(BPFError) -> [BPFLink] {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        var links: [BPFLink] = []
        var id: UInt32 = 0
        while true {
            var next: UInt32 = 0
            let status = bpf_link_get_next_id(id, &next)
            if status != 0 {
                if (status < 0 ? -status : errno) == ENOENT { return links }
                throw .failed("the kernel's BPF links could not be listed", returned: status)
            }
            id = next
            let fd = bpf_link_get_fd_by_id(next)
            guard fd >= 0 else { continue }
            // Zeroed: the raw tracepoint's name buffer pointer stays null, so nothing is copied there.
            var info = [UInt8](repeating: 0, count: 128)
            var length = UInt32(info.count)
            let read = info.withUnsafeMutableBytes { bpf_obj_get_info_by_fd(fd, $0.baseAddress, &length) }
            close(fd)
            if read == 0, let link = BPFLink(info: Array(info.prefix(Int(length)))) { links.append(link) }
        }
    }
}

import CLibBPF
import NetSystem
import Netlink
import NetlinkCodec

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A BPF program attached to an interface, where it runs on the interface's packets.
public struct AttachedProgram: Sendable, Equatable {
    public var interfaceIndex: Int32
    public var interface: String
    public var point: AttachPoint
    public var program: BPFProgram
    /// tc's priority of the filter (several programs run in its order); nil for tcx and XDP.
    public var priority: UInt16?
    /// tc: direct-action (the program's verdict is final, it can drop); nil where not tc.
    public var directAction: Bool?
    /// The BPF link that holds a tcx, netkit or XDP attachment (bpftool link show id N); nil for
    /// tc filters and attachments made without a link.
    public var linkID: UInt32?

    public init(
        interfaceIndex: Int32, interface: String, point: AttachPoint, program: BPFProgram, priority: UInt16? = nil,
        directAction: Bool? = nil
    ) {
        self.interfaceIndex = interfaceIndex
        self.interface = interface
        self.point = point
        self.program = program
        self.priority = priority
        self.directAction = directAction
    }

    /// "tc ingress: cil_from_contai (id 812, tag 8b5c…, Cilium)".
    public var summary: String {
        let owner = program.owner.map { ", \($0)" } ?? ""
        let link = linkID.map { ", link \($0)" } ?? ""
        return "\(point.rawValue): \(program.name.isEmpty ? "unnamed" : program.name) (id \(program.id), tag \(program.tag)\(link)\(owner))"
    }

    /// Whether the program on this hook decides the packet's fate: every XDP and tcx program
    /// does, a tc classifier only in direct-action mode (else it only classifies).
    public var canDrop: Bool { directAction ?? true }
}

/// Where on an interface a program runs.
public enum AttachPoint: String, Sendable, CaseIterable {
    case tcIngress = "tc ingress", tcEgress = "tc egress"
    case tcxIngress = "tcx ingress", tcxEgress = "tcx egress"
    case netkitPrimary = "netkit primary", netkitPeer = "netkit peer"
    case xdpNative = "xdp", xdpGeneric = "xdp generic", xdpOffload = "xdp offload"

    /// Runs on packets arriving at the interface (XDP, ingress), else on packets leaving it.
    public var isIngress: Bool { [.tcIngress, .tcxIngress, .xdpNative, .xdpGeneric, .xdpOffload].contains(self) }
}

/// The programs attached to a namespace's interfaces: tc clsact filters over rtnetlink, XDP from
/// the links' IFLA_XDP, tcx and netkit over BPF_PROG_QUERY (kernels 6.6 and 6.7 on; an older
/// kernel refuses the query, which means none).
public enum AttachedPrograms {
    public struct Reading: Sendable {
        public var programs: [AttachedProgram]
        /// What could not be read (one line each); the rest stands.
        public var problems: [String]
    }

    /// Reads them through `socket` (of the namespace) and BPF_PROG_QUERY, which asks of the
    /// calling thread's namespace: call it on a thread in the namespace `socket` belongs to.
    /// Ask NodePrograms first: without a program of these types on the node, none is attached.
    /// `only`: the interfaces wanted (a trace's hops); nil: every link.
    public static func read(links all: [Link], socket: NetlinkSocket, only: Set<Int32>? = nil) -> Reading {
        let links = only.map { wanted in all.filter { wanted.contains($0.index) } } ?? all
        var reading = Reading(programs: [], problems: [])
        let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
        func program(_ id: UInt32) -> BPFProgram? {
            do { return try BPFPrograms.program(id: id) } catch {
                reading.problems.append("program \(id): \(error)")
                return nil
            }
        }
        for link in links {
            for xdp in link.xdp?.programs ?? [] {
                let point: AttachPoint = xdp.mode == "generic" ? .xdpGeneric : xdp.mode == "offload" ? .xdpOffload : .xdpNative
                if let found = program(xdp.id) {
                    reading.programs.append(AttachedProgram(interfaceIndex: link.index, interface: link.name, point: point, program: found))
                }
            }
        }
        reading.programs += tcPrograms(socket: socket, names: names, only: only, problems: &reading.problems)
        for link in links {
            var points: [(AttachPoint, UInt32)] = [(.tcxIngress, 46), (.tcxEgress, 47)]
            if link.kind == "netkit" { points += [(.netkitPrimary, 54), (.netkitPeer, 55)] }
            for (point, attachType) in points {
                for id in queried(interfaceIndex: link.index, attachType: attachType) {
                    if let found = program(id) {
                        reading.programs.append(
                            AttachedProgram(interfaceIndex: link.index, interface: link.name, point: point, program: found))
                    }
                }
            }
        }
        if reading.programs.contains(where: { ![.tcIngress, .tcEgress].contains($0.point) }) { linkAttachments(&reading.programs) }
        return reading
    }

    /// The links that hold tcx, netkit and XDP attachments, matched by program, interface and
    /// attach point (links are the kernel's: one listing for the namespace).
    static func linkAttachments(_ programs: inout [AttachedProgram]) {
        guard let links = try? BPFLinks.loaded() else { return }
        let attachTypes: [AttachPoint: UInt32] = [.tcxIngress: 46, .tcxEgress: 47, .netkitPrimary: 54, .netkitPeer: 55]
        for index in programs.indices where ![.tcIngress, .tcEgress].contains(programs[index].point) {
            let attached = programs[index]
            programs[index].linkID =
                links.first { link in
                    link.programID == attached.program.id && link.interfaceIndex == attached.interfaceIndex
                        && (attachTypes[attached.point].map { link.attachType == $0 } ?? (link.type == 6))
                }?
                .id
        }
    }

    /// tc's BPF classifiers: the qdiscs first (one dump), then the filters of the devices that
    /// have a clsact or ingress qdisc, per hook.
    static func tcPrograms(
        socket: NetlinkSocket, names: [Int32: String], only: Set<Int32>?, problems: inout [String]
    ) -> [AttachedProgram] {
        let hooked: [Int32]
        do {
            hooked = try socket.dump(RouteRequest.qdiscDump()).compactMap { message in
                guard message.type == .newQdisc, let qdisc = try? Qdisc(message), qdisc.hasHooks,
                    only?.contains(qdisc.interfaceIndex) ?? true
                else { return nil }
                return qdisc.interfaceIndex
            }
        } catch {
            problems.append("tc's qdiscs could not be read: \(error)")
            return []
        }
        var programs: [AttachedProgram] = []
        for index in Set(hooked).sorted() {
            for hook in TrafficControlHook.allCases {
                let filters: [TrafficControlFilter]
                do {
                    filters = try socket.dump(RouteRequest.filterDump(interfaceIndex: index, hook: hook)).compactMap {
                        $0.type == .newFilter ? try? TrafficControlFilter($0) : nil
                    }
                } catch {
                    problems.append("tc filters of \(names[index] ?? "if\(index)") \(hook.name) could not be read: \(error)")
                    continue
                }
                // A filter is listed once per handle; its program once per (priority, id).
                var seen: Set<String> = []
                for filter in filters {
                    guard let id = filter.programID, seen.insert("\(filter.priority)/\(id)").inserted else { continue }
                    let program =
                        (try? BPFPrograms.program(id: id))
                        ?? BPFProgram(
                            id: id, name: BPFText.printable(filter.programName ?? ""), tag: filter.programTag ?? "?",
                            type: .schedCls)
                    programs.append(
                        AttachedProgram(
                            interfaceIndex: index, interface: names[index] ?? "if\(index)",
                            point: hook == .ingress ? .tcIngress : .tcEgress,
                            program: program, priority: filter.priority, directAction: filter.directAction))
                }
            }
        }
        return programs
    }

    /// The ids BPF_PROG_QUERY lists at one attach point of an interface of the calling thread's
    /// namespace; none where the kernel does not know the attach type or the device.
    static func queried(interfaceIndex: Int32, attachType: UInt32) -> [UInt32] {
        var ids = [UInt32](repeating: 0, count: 64)
        var count: UInt32 = 0
        let status = ids.withUnsafeMutableBufferPointer { buffer in
            withZeroed(bpf_prog_query_opts.self) { options in
                options.pointee.sz = MemoryLayout<bpf_prog_query_opts>.size
                options.pointee.prog_ids = buffer.baseAddress
                options.pointee.prog_cnt = UInt32(buffer.count)
                let status = bpf_prog_query_opts(interfaceIndex, bpf_attach_type(attachType), options)
                count = options.pointee.prog_cnt
                return status
            }
        }
        guard status == 0 else { return [] }
        return Array(ids.prefix(Int(min(count, 64))))
    }
}

/// Whether the kernel has any program that can be attached to an interface (tc, tcx, netkit,
/// XDP): programs are the kernel's, so one listing answers for every namespace. Without one,
/// no interface anywhere runs a program, and nothing per interface needs asking.
public enum NodePrograms {
    public enum Answer: Sendable, Equatable {
        case none
        case some([BPFProgram])
        case unknown(String)
    }

    /// Asked once per process: a command reads several namespaces; the list does not change
    /// under it in a way that matters (a program loaded meanwhile shows in the next run).
    public static func onInterfacePaths() -> Answer { answer }

    private static let answer: Answer = {
        if let missing = BPFLibrary.unavailable { return .unknown(missing) }
        do {
            let programs = try BPFPrograms.loaded().filter(\.type.isOnInterfacePath)
            return programs.isEmpty ? .none : .some(programs)
        } catch {
            return .unknown("\(error)")
        }
    }()
}

/// Traffic control over rtnetlink, as `tc qdisc show` and `tc filter show` read it: the qdiscs
/// of a namespace (which devices have a clsact or ingress hook at all) and the filters on a
/// hook, with what a BPF classifier carries (its program's id, name, tag, direct-action).

extension MessageType {
    public static let newQdisc = MessageType(rawValue: 36)
    public static let getQdisc = MessageType(rawValue: 38)
    public static let newFilter = MessageType(rawValue: 44)
    public static let getFilter = MessageType(rawValue: 46)
}

/// struct tcmsg (20 bytes): a qdisc's, class's or filter's header.
public struct TrafficControlHeader: Sendable, Equatable, MessageHeader {
    public static let size = 20
    public var family: UInt8 = 0
    public var interfaceIndex: Int32 = 0
    public var handle: UInt32 = 0
    public var parent: UInt32 = 0
    /// For a filter: its priority in the high 16 bits, its protocol (network order) in the low.
    public var info: UInt32 = 0

    public init(interfaceIndex: Int32 = 0, parent: UInt32 = 0) {
        self.interfaceIndex = interfaceIndex
        self.parent = parent
    }

    public init(parsing payload: ArraySlice<UInt8>) throws(NetlinkDecodeError) {
        guard payload.count >= Self.size else { throw NetlinkDecodeError("tcmsg shorter than \(Self.size) bytes", offset: 0) }
        let r = WireReader(payload)
        family = r.u8(0)
        interfaceIndex = r.i32(4)
        handle = r.u32(8)
        parent = r.u32(12)
        info = r.u32(16)
    }

    public func emit(into w: inout WireWriter) {
        w.u8(family); w.u8(0); w.u16(0); w.i32(interfaceIndex); w.u32(handle); w.u32(parent); w.u32(info)
    }
}

/// TCA_*: a qdisc's or filter's attributes.
public enum TCA: UInt16, AttributeType {
    case kind = 1, options = 2, chain = 11
}

/// TCA_BPF_*: nested in a "bpf" filter's TCA_OPTIONS.
public enum TCABPF: UInt16, AttributeType {
    case name = 7, flags = 8, tag = 10, id = 11
}

/// The hooks of a clsact (or ingress) qdisc, as tc names them: TC_H_MAKE(TC_H_CLSACT, minor).
public enum TrafficControlHook: UInt32, Sendable, CaseIterable {
    case ingress = 0xFFFF_FFF2
    case egress = 0xFFFF_FFF3

    public var name: String { self == .ingress ? "ingress" : "egress" }
}

extension RouteRequest {
    /// Every qdisc of the namespace (RTM_GETQDISC dump): one answer for all devices.
    public static func qdiscDump() -> NetlinkMessage {
        var w = WireWriter()
        TrafficControlHeader().emit(into: &w)
        return NetlinkMessage(type: .getQdisc, flags: [.request, .dump], payload: w.bytes)
    }

    /// The filters on one hook of one device (RTM_GETTFILTER dump): the kernel answers a
    /// filter dump per device only.
    public static func filterDump(interfaceIndex: Int32, hook: TrafficControlHook) -> NetlinkMessage {
        var w = WireWriter()
        TrafficControlHeader(interfaceIndex: interfaceIndex, parent: hook.rawValue).emit(into: &w)
        return NetlinkMessage(type: .getFilter, flags: [.request, .dump], payload: w.bytes)
    }
}

/// A qdisc as RTM_NEWQDISC describes it: its device and kind ("clsact", "ingress", "noqueue", …).
public struct Qdisc: Sendable, Equatable {
    public var interfaceIndex: Int32
    public var kind: String
    public var parent: UInt32

    /// Holds tc hooks that filters (and BPF classifiers) attach to.
    public var hasHooks: Bool { kind == "clsact" || kind == "ingress" }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        let header = try TrafficControlHeader(parsing: message.payload)
        interfaceIndex = header.interfaceIndex
        parent = header.parent
        kind = try Attribute.parseAll(message.payload.dropFirst(TrafficControlHeader.size)).attribute(TCA.kind)?.string ?? ""
    }
}

/// A tc filter on a hook; for a BPF classifier, its program as the kernel names it.
public struct TrafficControlFilter: Sendable, Equatable {
    public var interfaceIndex: Int32
    /// TC_H_MAKE of the hook (TrafficControlHook's raw values for clsact).
    public var parent: UInt32
    public var priority: UInt16
    public var handle: UInt32
    public var kind: String
    /// TCA_BPF_ID: the program's id (bpftool prog show id N); nil for other kinds of filter.
    public var programID: UInt32?
    /// TCA_BPF_NAME: what the loader named it (an object's section or file name, for tc).
    public var programName: String?
    /// TCA_BPF_TAG: the program's tag, hex.
    public var programTag: String?
    /// TCA_BPF_FLAG_ACT_DIRECT: the program's return value is the verdict (it can drop).
    public var directAction: Bool?

    public var hook: TrafficControlHook? { TrafficControlHook(rawValue: parent) }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        let header = try TrafficControlHeader(parsing: message.payload)
        interfaceIndex = header.interfaceIndex
        parent = header.parent
        priority = UInt16(header.info >> 16)
        handle = header.handle
        let attributes = try Attribute.parseAll(message.payload.dropFirst(TrafficControlHeader.size))
        kind = attributes.attribute(TCA.kind)?.string ?? ""
        guard kind == "bpf", let options = try attributes.attribute(TCA.options)?.nested() else { return }
        programID = options.attribute(TCABPF.id)?.u32
        programName = options.attribute(TCABPF.name)?.string
        programTag = options.attribute(TCABPF.tag).map { $0.payload.map { hex($0) }.joined() }
        directAction = options.attribute(TCABPF.flags)?.u32.map { $0 & 1 != 0 }
    }
}

/// IFLA_XDP_*: nested in IFLA_XDP.
public enum IFLAXDP: UInt16, AttributeType {
    case attached = 2, programID = 4, driverProgramID = 5, genericProgramID = 6, hardwareProgramID = 7
}

/// The XDP programs a link runs, as IFLA_XDP says: the mode and each mode's program.
public struct XDPAttachment: Sendable, Equatable {
    /// XDP_ATTACHED_*: 1 native (driver), 2 generic (skb), 3 offloaded, 4 several modes at once.
    public var mode: UInt8
    /// Each mode's program: native, generic or offload, and its id.
    public var programs: [Program]

    public struct Program: Sendable, Equatable {
        public var mode: String
        public var id: UInt32
    }

    /// nil when nothing is attached (XDP_ATTACHED_NONE).
    init?(_ nested: [Attribute]) {
        guard let mode = nested.attribute(IFLAXDP.attached)?.u8, mode != 0 else { return nil }
        self.mode = mode
        var programs: [Program] = []
        let modes: [(IFLAXDP, String)] = [(.driverProgramID, "native"), (.genericProgramID, "generic"), (.hardwareProgramID, "offload")]
        for (attribute, name) in modes {
            if let id = nested.attribute(attribute)?.u32, id != 0 { programs.append(Program(mode: name, id: id)) }
        }
        if programs.isEmpty, let id = nested.attribute(IFLAXDP.programID)?.u32, id != 0 {
            programs.append(Program(mode: [1: "native", 2: "generic", 3: "offload"][mode] ?? "mode \(mode)", id: id))
        }
        self.programs = programs
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}

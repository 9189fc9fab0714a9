import CLibBPF

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// BTF, the kernel's own type information (/sys/kernel/btf/vmlinux) or a blob's (a map's own, a
/// recording), read with libbpf: names come from the running kernel, never from a table of ours.
public final class BTF {
    private let handle: OpaquePointer

    private init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { btf__free(handle) }

    /// The running kernel's BTF; nil when the kernel has none (built without CONFIG_DEBUG_INFO_BTF).
    public static func kernel() throws(BPFError) -> BTF {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        guard let handle = btf__load_vmlinux_btf() else { throw .failed("the kernel's BTF could not be read", returned: -errno) }
        return BTF(handle)
    }

    /// A BTF object the kernel holds (a map's or a program's own, by its id).
    public static func kernelObject(id: UInt32) throws(BPFError) -> BTF {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        guard let handle = btf__load_from_kernel_by_id(id) else { throw .failed("BTF object \(id) could not be read", returned: -errno) }
        return BTF(handle)
    }

    /// BTF from raw bytes (a recording, a map's BTF as the kernel gave it); libbpf checks it.
    public static func parse(_ bytes: [UInt8]) throws(BPFError) -> BTF {
        if let missing = BPFLibrary.unavailable { throw BPFError(missing, code: ENOSYS) }
        // libbpf 1.x returns NULL and sets errno for BTF it refuses (bad magic, lengths, strings).
        guard bytes.count < 1 << 30, let handle = bytes.withUnsafeBytes({ btf__new($0.baseAddress, UInt32($0.count)) })
        else { throw .failed("BTF that libbpf refuses", returned: -errno) }
        return BTF(handle)
    }

    /// A type's name (a struct's, an enum's, a typedef's); nil for an anonymous type or an id
    /// past the last.
    public func name(ofType id: UInt32) -> String? {
        guard id > 0, id < btf__type_cnt(handle), let type = btf__type_by_id(handle, id), type.pointee.name_off != 0,
            let text = btf__name_by_offset(handle, type.pointee.name_off)
        else { return nil }
        return BPFText.printable(String(cString: text), limit: 80)
    }

    /// The named enum's enumerators, value to name; nil when there is no such enum.
    public func enumeration(named name: String) -> [UInt32: String]? {
        let id = btf__find_by_name_kind(handle, name, UInt32(BTF_KIND_ENUM))
        guard id > 0, let type = btf__type_by_id(handle, UInt32(id)) else { return nil }
        let count = Int(type.pointee.info & 0xFFFF)
        // struct btf_enum {name_off, val} follows the type.
        let members = UnsafeRawPointer(type).advanced(by: MemoryLayout<btf_type>.size).assumingMemoryBound(to: btf_enum.self)
        var values: [UInt32: String] = [:]
        for i in 0..<count {
            let member = members[i]
            guard let text = btf__name_by_offset(handle, member.name_off) else { continue }
            let value = UInt32(bitPattern: member.val)
            if values[value] == nil { values[value] = BPFText.printable(String(cString: text), limit: 80) }
        }
        return values
    }
}

/// The kernel's drop reasons (enum skb_drop_reason, 5.17 on), named from its own BTF.
public struct DropReasonNames: Sendable, Equatable {
    public var names: [UInt32: String]

    public init(names: [UInt32: String]) { self.names = names }

    /// From an enum's enumerators as BTF names them: SKB_DROP_REASON_ taken off.
    public init(enumerators: [UInt32: String]) {
        names = enumerators.mapValues { $0.hasPrefix("SKB_DROP_REASON_") ? String($0.dropFirst(16)) : $0 }
    }

    /// The running kernel's, or why there are none (no BTF, a kernel before drop reasons).
    public static func kernel() -> Result<DropReasonNames, BPFError> {
        do {
            guard let values = try BTF.kernel().enumeration(named: "skb_drop_reason") else {
                return .failure(BPFError("the kernel's BTF has no enum skb_drop_reason: a kernel before 5.17 gives no drop reasons"))
            }
            return .success(DropReasonNames(enumerators: values))
        } catch {
            return .failure(error)
        }
    }

    public func name(_ reason: UInt32) -> String { names[reason] ?? "reason \(reason) (not in this kernel's BTF)" }
}

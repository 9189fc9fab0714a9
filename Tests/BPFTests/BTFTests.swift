import BPF
import Testing

/// BTF read with libbpf from blobs made here: a kernel's enum as its BTF lays it out, and blobs
/// that lie about their lengths or strings, which libbpf refuses (one line, never a crash).
@Suite("BPF: BTF, the kernel's type information")
struct BTFTests {
    /// A BTF blob of one enum (kind 6) with `members`, as the kernel and pahole write it.
    static func blob(enumName: String, members: [(String, UInt32)], lie: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var strings: [UInt8] = [0]
        func add(_ text: String) -> UInt32 {
            let offset = UInt32(strings.count)
            strings += Array(text.utf8) + [0]
            return offset
        }
        func u32(_ value: UInt32) -> [UInt8] {
            [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
        }
        var types = u32(add(enumName)) + u32(6 << 24 | UInt32(members.count)) + u32(4)
        for (name, value) in members { types += u32(add(name)) + u32(value) }
        var header: [UInt8] = [0x9F, 0xEB, 1, 0] + u32(24) + u32(0) + u32(UInt32(types.count))
        header += u32(UInt32(types.count)) + u32(UInt32(strings.count))
        var bytes = header + types + strings
        lie(&bytes)
        return bytes
    }

    static let reasons: [(String, UInt32)] = [
        ("SKB_NOT_DROPPED_YET", 0), ("SKB_CONSUMED", 1), ("SKB_DROP_REASON_NOT_SPECIFIED", 2), ("SKB_DROP_REASON_NO_SOCKET", 3),
        ("SKB_DROP_REASON_IP_RPFILTER", 16),
    ]

    @Test("an enum skb_drop_reason read from BTF: each value's name, the prefix taken off for reasons")
    func enumeration() throws {
        let btf = try BTF.parse(Self.blob(enumName: "skb_drop_reason", members: Self.reasons))
        let values = try #require(btf.enumeration(named: "skb_drop_reason"))
        #expect(values[3] == "SKB_DROP_REASON_NO_SOCKET")
        let names = DropReasonNames(enumerators: values)
        #expect(names.name(16) == "IP_RPFILTER")
        #expect(names.name(1) == "SKB_CONSUMED")
        #expect(btf.enumeration(named: "no_such_enum") == nil)
    }

    @Test("BTF that lies: a wrong magic, lengths past its end, a name past the strings, truncation: refused in one line")
    func lies() {
        let lies: [(String, (inout [UInt8]) -> Void)] = [
            ("magic", { $0[0] = 0 }),
            (
                "type length",
                {
                    $0[16] = 0xFF; $0[17] = 0xFF
                }
            ),
            (
                "string length",
                {
                    $0[20] = 0xFF; $0[21] = 0xFF
                }
            ),
            (
                "name offset",
                {
                    $0[24] = 0xFF; $0[25] = 0x7F
                }
            ),
            ("truncated", { $0.removeLast(9) }),
        ]
        for (what, lie) in lies {
            do {
                let btf = try BTF.parse(Self.blob(enumName: "skb_drop_reason", members: Self.reasons, lie: lie))
                // Refused or not, nothing may be forged: a name that cannot be read is left out.
                let values = btf.enumeration(named: "skb_drop_reason") ?? [:]
                #expect(values.values.allSatisfy { $0.hasPrefix("SKB_") }, "\(what)")
            } catch {
                #expect(!error.description.contains("\n"), "\(what)")
            }
        }
        #expect(throws: BPFError.self) { try BTF.parse([]) }
        #expect(throws: BPFError.self) { try BTF.parse([0x9F, 0xEB, 1, 0]) }
    }
}

import BPF
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension PrivilegedSuite {
    /// BPF maps read as the kernel keeps them: maps made and filled by bpftool (per-CPU and
    /// plain), and a program's maps with their own BTF, pinned in bpffs under a directory of the
    /// test's own.
    @Suite("Privileged: BPF maps read back (per-CPU values summed, a map's own BTF)")
    struct BPFMapTests {
        static func pinDirectory() throws -> String {
            let directory = "/sys/fs/bpf/ndtest-maps-\(getpid())"
            if (try? sh(["stat", "-f", "-c", "%T", "/sys/fs/bpf"]))?.contains("bpf") != true {
                _ = try sh(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"])
            }
            _ = try sh(["mkdir", "-p", directory])
            return directory
        }

        @Test("a per-CPU hash and a hash made and filled by bpftool: every CPU's value, summed; the plain value as written")
        func maps() throws {
            try Privilege.require()
            let directory = try Self.pinDirectory()
            defer { _ = try? sh(["rm", "-rf", directory]) }
            _ = try sh([
                "bpftool", "map", "create", "\(directory)/counters", "type", "percpu_hash", "key", "8", "value", "16", "entries", "16",
                "name", "ndtest_counters",
            ])
            _ = try sh([
                "bpftool", "map", "create", "\(directory)/plain", "type", "hash", "key", "4", "value", "4", "entries", "4", "name",
                "ndtest_plain",
            ])
            // bpftool gives every CPU the same value of a per-CPU map: count 3, bytes 64.
            _ = try sh(
                [
                    "bpftool", "map", "update", "pinned", "\(directory)/counters", "key", "hex", "85", "01", "00", "00", "00", "00", "00",
                    "00", "value", "hex",
                ]
                    + ["03", "00", "00", "00", "00", "00", "00", "00", "40", "00", "00", "00", "00", "00", "00", "00"])
            _ = try sh([
                "bpftool", "map", "update", "pinned", "\(directory)/plain", "key", "hex", "01", "00", "00", "00", "value", "hex", "2a",
                "00", "00", "00",
            ])
            let cpus = try #require(Int(try sh(["nproc", "--all"]).filter(\.isNumber)))

            let counters = try BPFMap.open(pinned: "\(directory)/counters")
            #expect(counters.info.name == "ndtest_counters")
            #expect(counters.info.type == .perCPUHash)
            #expect(counters.info.keySize == 8 && counters.info.valueSize == 16 && counters.info.maxEntries == 16)
            let (entries, truncated) = counters.entries()
            #expect(!truncated)
            let entry = try #require(entries.first)
            #expect(entries.count == 1)
            #expect(entry.key == [0x85, 1, 0, 0, 0, 0, 0, 0])
            #expect(entry.values.count >= cpus)
            #expect(entry.sum64(at: 0) == UInt64(3 * entry.values.count))
            #expect(entry.sum64(at: 8) == UInt64(64 * entry.values.count))

            let plain = try BPFMap.open(pinned: "\(directory)/plain")
            #expect(plain.lookup([1, 0, 0, 0]) == [[0x2a, 0, 0, 0]])
            #expect(plain.lookup([2, 0, 0, 0]) == nil)
            #expect(plain.lookup([1, 0]) == nil)
            #expect(try BPFMap.loaded().contains { $0.name == "ndtest_plain" })
            #expect(throws: BPFError.self) { try BPFMap.open(pinned: "\(directory)/absent") }
        }

        @Test("a program's maps, made by libbpf with BTF: the map's own BTF names its value's type")
        func mapBTF() throws {
            try Privilege.require()
            let directory = try Self.pinDirectory()
            defer { _ = try? sh(["rm", "-rf", directory]) }
            _ = try sh([
                "bpftool", "prog", "load", Repository.root + "/bpf/drop_reasons.bpf.o", "\(directory)/program", "pinmaps",
                "\(directory)/maps",
            ])
            let flows = try BPFMap.open(pinned: "\(directory)/maps/probe_flows")
            #expect(flows.info.type == .array)
            #expect(flows.info.btfID != 0)
            let btf = try #require(try flows.btf())
            #expect(btf.name(ofType: flows.info.btfValueTypeID) == "probe_flow")
        }
    }
}

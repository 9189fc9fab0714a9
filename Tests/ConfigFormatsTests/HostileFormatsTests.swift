import ConfigFormats
import YAMLFormat
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Inputs from HOSTILE-INPUT.md that expand, nest or repeat without bound: each is refused (or
/// read) in linear time and bounded memory, never a crash.
@Suite("Hostile YAML and TOML")
struct HostileFormatsTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }

    /// 9 levels of 10 aliases each: 10^9 values from 1 KB (HOSTILE-INPUT 5).
    static let aliasBomb: String = {
        var lines = ["kind: KubeletConfiguration", #"a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
        for i in 1..<10 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ",") + "]") }
        return lines.joined(separator: "\n")
    }()

    @Test("a YAML alias bomb is refused at once")
    func yamlAliasBomb() throws {
        let elapsed = Self.seconds {
            #expect(throws: ParseError.self) { try YAMLReader.parse(Self.aliasBomb) }
        }
        #expect(elapsed < 2)
        // Aliases that stay small still read.
        let small = try YAMLReader.parse("a: &x [1, 2]\nb: *x\n")
        #expect(small["b"]?.array?.count == 2)
    }

    @Test("TOML: 50,000-part dotted keys and headers are errors, not a stack overflow (HOSTILE-INPUT 7)")
    func tomlDeepKeys() {
        let dotted = "version = 2\n" + Array(repeating: "a", count: 50_000).joined(separator: ".") + " = 1\n"
        let header = "version = 2\n[" + Array(repeating: "a", count: 50_000).joined(separator: ".") + "]\n"
        for text in [dotted, header] {
            do {
                _ = try TOMLParser.parse(text)
                Issue.record("parsed")
            } catch {
                #expect(error.message.contains("dotted parts"), "\(error.message)")
                #expect(error.line == 2)
            }
        }
        #expect(throws: Never.self) { try TOMLParser.parse("a.b.c.d.e.f = 1\n[x.y.z]\nk = 2\n") }
    }

    @Test("TOML: 250,000 nested inline tables are an error (the depth guard holds across inline tables)")
    func tomlDeepInlineTables() {
        let text = "x = " + String(repeating: "{a=", count: 250_000) + "1" + String(repeating: "}", count: 250_000)
        do {
            _ = try TOMLParser.parse(text)
            Issue.record("parsed")
        } catch {
            #expect(error.message.contains("nesting deeper"), "\(error.message)")
        }
    }

    @Test("TOML: 174,000 [[t]] headers (1 MiB) read in linear time (HOSTILE-INPUT 8)")
    func tomlManyArrayTables() throws {
        let text = "version = 2\n" + String(repeating: "[[t]]\n", count: 174_000)
        var value: ConfigValue = .null
        let elapsed = try Self.seconds { value = try TOMLParser.parse(text) }
        #expect(value["t"]?.array?.count == 174_000)
        #expect(elapsed < 5, "\(elapsed) s")
    }
}

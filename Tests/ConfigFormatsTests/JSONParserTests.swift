import ConfigFormats
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test("reads every kind of value, keeping key order")
    func values() throws {
        let value = try JSONParser.parse(#"{"b": 1, "a": [true, false, null, -2.5e3, "x\u00e9\n"], "c": {}}"#)
        #expect(value.object?.keys == ["b", "a", "c"])
        #expect(value["b"]?.int == 1)
        #expect(value["a"]?.array?.count == 5)
        #expect(value["a"]?.array?[3].double == -2500)
        #expect(value["a"]?.array?[4].string == "xé\n")
        #expect(value["c"]?.object?.members.isEmpty == true)
    }

    @Test("a repeated key keeps the last value, as Go does, and is reported with its lines")
    func repeatedKeys() throws {
        let value = try JSONParser.parse("{\n\"cniVersion\": \"0.2.0\",\n\"cniVersion\": \"0.3.1\"\n}")
        #expect(value["cniVersion"]?.string == "0.3.1")
        let repeated = try #require(value.object?.repeatedKeys.first)
        #expect(repeated.key == "cniVersion")
        #expect(repeated.lines == [2, 3])
    }

    @Test(
        "errors carry line and column",
        arguments: [
            ("{\n  \"a\": 1,\n}", 3, 1, "looking for beginning of object key string"),
            ("{\"a\": 1 // x\n}", 1, 9, "after object key:value pair"),
            ("{\"a\": [1, 2,]}", 1, 13, "looking for beginning of value"),
            ("{\n  allow: false\n}", 2, 3, "looking for beginning of object key string"),
            ("{\"a\": tru}", 1, 7, "looking for beginning of value"),
            ("{\"a\": \"x", 1, 9, "unexpected end of JSON input"),
            ("", 1, 1, "unexpected end of JSON input"),
            ("{} {}", 1, 4, "after top-level value"),
            ("{\"a\": 01}", 1, 8, "after object key:value pair"),
            ("{\"a\": \"\u{01}\"}", 1, 8, "in string literal"),
        ])
    func errorPositions(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try JSONParser.parse(text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.line == line)
            #expect(error.column == column)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("a string taken whole up to its first escape or control byte reads the same as byte by byte")
    func plainRuns() throws {
        #expect(
            try JSONParser.parse(#"["plain", "run\tthen escape", "é multi-byte", "", "ends \\"]"#).array?.map(\.string) == [
                "plain", "run\tthen escape", "é multi-byte", "", "ends \\",
            ])
        // The position after a plain run stays right: the error is at the control byte.
        do {
            _ = try JSONParser.parse("{\"abc\u{01}\"}")
            Issue.record("a control byte parsed")
        } catch {
            #expect(error.column == 6)
        }
        #expect(try JSONParser.parse(bytes: Array("\"a\u{01}b\"".utf8), mode: .lenient).string == "a\u{01}b")
        #expect(throws: ParseError.self) { try JSONParser.parse("\"unterminated plain run") }
    }

    @Test("nesting is bounded, so hostile input cannot exhaust the stack")
    func depth() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: ParseError.self) { try JSONParser.parse(deep) }
    }

    @Test("surrogate pairs and a byte-order mark")
    func unicode() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#).string == "😀")
        #expect(try JSONParser.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("1".utf8)).int == 1)
    }

    @Test("lenient mode recovers what broken and templated files mean")
    func lenient() throws {
        let text = """
            {
              // comment
              "name": "k8s",
              "plugins": [
                { "type": "calico", "mtu": __CNI_MTU__, "ipam": {"type": "calico-ipam"}, },
                { "type": "portmap", "enable": {{.Debug | js }}, }
              ]
              unquoted: true
            }
            """
        #expect(throws: ParseError.self) { try JSONParser.parse(text) }
        let value = try JSONParser.parse(text, mode: .lenient)
        #expect(value["plugins"]?.array?.compactMap { $0["type"]?.string } == ["calico", "portmap"])
        #expect(value["plugins"]?.array?.first?["mtu"]?.isNull == true)
        #expect(value["unquoted"]?.bool == true)
    }

    @Test("writer round-trips and escapes")
    func writer() throws {
        let text = #"{"a":[1,2.50,"q\"\\\n\u0001"],"b":null,"c":{"d":false}}"#
        let value = try JSONParser.parse(text)
        #expect(JSONWriter.write(value, pretty: false) == text)
        #expect(try JSONParser.parse(JSONWriter.write(value)) == value)
    }

    @Test("a document written in pieces is the document written whole; generated arrays write as arrays")
    func writtenInPieces() throws {
        // 20,000 routes' worth of objects: many 64 KiB pieces, elements made as they are written.
        let rows = Array(0..<20_000)
        let generated: ConfigValue = .fields([
            "routes": .generated(
                GeneratedArray(rows) { i in
                    .fields(["destination": .string("10.\(i / 250).\(i % 250).0/24"), "escaped": .string("tab\tquote\"")])
                })
        ])
        let materialised: ConfigValue = .fields(["routes": .array(generated["routes"]!.array!)])
        for pretty in [false, true] {
            var pieces: [[UInt8]] = []
            #expect(
                JSONWriter.write(generated, pretty: pretty, trailer: [0x0A]) {
                    pieces.append($0); return true
                })
            #expect(pieces.count > 10)
            #expect(pieces.dropLast().allSatisfy { $0.count >= 1 << 16 && $0.count < 1 << 17 })
            #expect(pieces.flatMap { $0 } == JSONWriter.bytes(materialised, pretty: pretty) + [0x0A])
        }
        #expect(generated["routes"]?.kindName == "an array")
        // A reader that stops (a closed pipe): writing stops at the next piece.
        var delivered = 0
        #expect(
            !JSONWriter.write(generated, pretty: false) { _ in
                delivered += 1; return false
            })
        #expect(delivered == 1)
    }
}

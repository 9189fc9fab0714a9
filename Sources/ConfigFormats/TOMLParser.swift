/// A TOML 1.0 parser written for netdoctor, so that any bytes found where a runtime config
/// should be give a positioned error and never a crash (toml++ asserted on a JSON document fed
/// to it). Dates and times are kept as their text; repeated keys and tables are errors, as in
/// the Go TOML libraries containerd and CRI-O use.
public struct TOMLParser {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    private let root = TOMLTable(kind: .explicit)
    private var current: TOMLTable

    public static func parse(_ text: String) throws(ParseError) -> ConfigValue {
        var parser = TOMLParser(bytes: Array(text.utf8))
        try parser.parseDocument()
        return parser.root.value(depth: 0)
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
        current = root
    }

    // MARK: document structure

    private mutating func parseDocument() throws(ParseError) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        while true {
            skipBlanks()
            guard let c = peek() else { return }
            switch c {
            case ascii("#"), ascii("\n"), ascii("\r"):
                try skipToLineEnd()
            case ascii("["):
                if peek(1) == ascii("[") { try parseArrayTableHeader() } else { try parseTableHeader() }
            default:
                try parseKeyValue(into: current, inline: false)
                try skipToLineEnd()
            }
        }
    }

    private mutating func parseTableHeader() throws(ParseError) {
        let (startLine, startColumn) = position
        advance()  // [
        skipBlanks()
        let keys = try parseKey()
        skipBlanks()
        try expect("]", "to close the table header")
        var table = root
        for (i, key) in keys.enumerated() {
            let last = i == keys.count - 1
            switch table.entries[key] {
            case nil:
                let child = TOMLTable(kind: last ? .explicit : .implicit)
                table.insert(key, .table(child))
                table = child
            case .table(let child)?:
                if last {
                    guard child.kind == .implicit else {
                        throw ParseError(
                            message: "table [\(keys.joined(separator: "."))] is defined twice", line: startLine, column: startColumn)
                    }
                    child.kind = .explicit
                }
                table = child
            case .tables(let list)? where !last:
                guard let latest = list.items.last else {
                    throw ParseError(message: "empty array of tables \(key)", line: startLine, column: startColumn)
                }
                table = latest
            default:
                throw ParseError(message: "key \(key) is already a value, not a table", line: startLine, column: startColumn)
            }
        }
        current = table
        try skipToLineEnd()
    }

    private mutating func parseArrayTableHeader() throws(ParseError) {
        let (startLine, startColumn) = position
        advance(); advance()  // [[
        skipBlanks()
        let keys = try parseKey()
        skipBlanks()
        try expect("]", "to close the array of tables header")
        try expect("]", "to close the array of tables header")
        var table = root
        for (i, key) in keys.enumerated() {
            let last = i == keys.count - 1
            switch table.entries[key] {
            case nil:
                let child = TOMLTable(kind: .explicit)
                table.insert(key, last ? .tables(TOMLTableList([child])) : .table(TOMLTable(kind: .implicit)))
                if case .table(let t)? = table.entries[key] { table = t } else { table = child }
            case .tables(let list)?:
                // The list is shared, not copied: each [[t]] costs O(1), not the whole list again.
                if last {
                    let child = TOMLTable(kind: .explicit)
                    list.items.append(child)
                    table = child
                } else {
                    guard let latest = list.items.last else {
                        throw ParseError(message: "empty array of tables \(key)", line: startLine, column: startColumn)
                    }
                    table = latest
                }
            case .table(let child)? where !last:
                table = child
            default:
                throw ParseError(message: "key \(key) is not an array of tables", line: startLine, column: startColumn)
            }
        }
        current = table
        try skipToLineEnd()
    }

    /// `depth`: how deep in inline tables this key sits (a nested inline table must not start
    /// counting again, or 250,000 `{a=` overflow the stack).
    private mutating func parseKeyValue(into table: TOMLTable, inline: Bool, depth: Int = 0) throws(ParseError) {
        let (startLine, startColumn) = position
        let keys = try parseKey()
        skipBlanks()
        try expect("=", "after a key")
        skipBlanks()
        let value = try parseValue(depth: depth)
        var target = table
        for key in keys.dropLast() {
            switch target.entries[key] {
            case nil:
                let child = TOMLTable(kind: .dotted)
                target.insert(key, .table(child))
                target = child
            case .table(let child)? where child.kind != .explicit || inline:
                target = child
            default:
                throw ParseError(message: "key \(key) cannot be extended with a dotted key", line: startLine, column: startColumn)
            }
        }
        guard let last = keys.last else { throw ParseError(message: "empty key", line: startLine, column: startColumn) }
        guard target.entries[last] == nil else {
            throw ParseError(message: "duplicate key \(keys.joined(separator: "."))", line: startLine, column: startColumn)
        }
        target.insert(last, .value(value))
    }

    // MARK: keys

    private mutating func parseKey() throws(ParseError) -> [String] {
        var keys: [String] = []
        while true {
            skipBlanks()
            guard let c = peek() else { throw error("expected a key, found end of input") }
            if c == ascii("\"") {
                keys.append(try parseBasicString())
            } else if c == ascii("'") {
                keys.append(try parseLiteralString())
            } else if isBareKeyByte(c) {
                let start = index
                while let d = peek(), isBareKeyByte(d) { advance() }
                keys.append(String(decoding: bytes[start..<index], as: UTF8.self))
            } else {
                throw error("expected a key, found \(describe(c))")
            }
            skipBlanks()
            guard peek() == ascii(".") else { return keys }
            // Each part is a table: 50,000 parts would nest 50,000 tables (and their release
            // recurses as deep). Real configs use a handful.
            guard keys.count < Self.maximumKeyParts else { throw error("a key of more than \(Self.maximumKeyParts) dotted parts") }
            advance()
        }
    }

    /// The most parts a dotted key or a table header may have.
    public static let maximumKeyParts = 64

    private func isBareKeyByte(_ c: UInt8) -> Bool {
        (c >= ascii("a") && c <= ascii("z")) || (c >= ascii("A") && c <= ascii("Z")) || (c >= ascii("0") && c <= ascii("9"))
            || c == ascii("_") || c == ascii("-")
    }

    // MARK: values

    private mutating func parseValue(depth: Int) throws(ParseError) -> ConfigValue {
        guard depth < JSONParser.maximumDepth else { throw error("nesting deeper than \(JSONParser.maximumDepth) levels") }
        guard let c = peek() else { throw error("expected a value, found end of input") }
        switch c {
        case ascii("\""):
            if peek(1) == ascii("\""), peek(2) == ascii("\"") { return .string(try parseMultilineBasicString()) }
            return .string(try parseBasicString())
        case ascii("'"):
            if peek(1) == ascii("'"), peek(2) == ascii("'") { return .string(try parseMultilineLiteralString()) }
            return .string(try parseLiteralString())
        case ascii("["):
            return try parseArray(depth: depth + 1)
        case ascii("{"):
            return try parseInlineTable(depth: depth + 1)
        case ascii("t"):
            try expectWord("true")
            return .bool(true)
        case ascii("f"):
            try expectWord("false")
            return .bool(false)
        default:
            return try parseNumberOrDate()
        }
    }

    private mutating func parseArray(depth: Int) throws(ParseError) -> ConfigValue {
        advance()  // [
        var elements: [ConfigValue] = []
        while true {
            try skipWhitespaceCommentsAndNewlines()
            if peek() == ascii("]") { advance(); return .array(elements) }
            elements.append(try parseValue(depth: depth))
            try skipWhitespaceCommentsAndNewlines()
            switch peek() {
            case ascii(",")?: advance()
            case ascii("]")?: advance(); return .array(elements)
            case nil: throw error("unterminated array")
            case let c?: throw error("expected , or ] in an array, found \(describe(c))")
            }
        }
    }

    private mutating func parseInlineTable(depth: Int) throws(ParseError) -> ConfigValue {
        advance()  // {
        let table = TOMLTable(kind: .explicit)
        skipBlanks()
        if peek() == ascii("}") { advance(); return table.value(depth: depth) }
        while true {
            skipBlanks()
            try parseKeyValue(into: table, inline: true, depth: depth)
            skipBlanks()
            switch peek() {
            case ascii(",")?: advance()
            case ascii("}")?: advance(); return table.value(depth: depth)
            case nil: throw error("unterminated inline table")
            case let c?: throw error("expected , or } in an inline table, found \(describe(c))")
            }
        }
    }

    private mutating func parseBasicString() throws(ParseError) -> String {
        advance()  // "
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated string") }
            if c == ascii("\n") { throw error("newline in a single-line string") }
            advance()
            if c == ascii("\"") { return String(decoding: out, as: UTF8.self) }
            if c == ascii("\\") { try parseEscape(into: &out) } else { out.append(c) }
        }
    }

    private mutating func parseMultilineBasicString() throws(ParseError) -> String {
        advance(); advance(); advance()  // """
        skipNewline()
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated multi-line string") }
            if c == ascii("\""), peek(1) == ascii("\""), peek(2) == ascii("\"") {
                advance(); advance(); advance()
                // Up to two more quotes belong to the content (""""" ends with two quotes).
                var extra = 0
                while peek() == ascii("\""), extra < 2 { out.append(ascii("\"")); advance(); extra += 1 }
                return String(decoding: out, as: UTF8.self)
            }
            advance()
            if c == ascii("\\") {
                // A backslash at the end of a line trims the newline and leading blanks after it.
                var look = index
                while look < bytes.count, bytes[look] == ascii(" ") || bytes[look] == ascii("\t") { look += 1 }
                if look < bytes.count, bytes[look] == ascii("\n") || bytes[look] == ascii("\r") {
                    while let d = peek(), d == ascii(" ") || d == ascii("\t") || d == ascii("\n") || d == ascii("\r") { advance() }
                } else {
                    try parseEscape(into: &out)
                }
            } else {
                out.append(c)
            }
        }
    }

    private mutating func parseLiteralString() throws(ParseError) -> String {
        advance()  // '
        let start = index
        while let c = peek(), c != ascii("'") {
            if c == ascii("\n") { throw error("newline in a literal string") }
            advance()
        }
        guard peek() != nil else { throw error("unterminated literal string") }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        advance()
        return text
    }

    private mutating func parseMultilineLiteralString() throws(ParseError) -> String {
        advance(); advance(); advance()  // '''
        skipNewline()
        let start = index
        while true {
            guard peek() != nil else { throw error("unterminated multi-line literal string") }
            if peek() == ascii("'"), peek(1) == ascii("'"), peek(2) == ascii("'") {
                var end = index + 3
                while end < bytes.count, bytes[end] == ascii("'"), end - index < 5 { end += 1 }
                let text = String(decoding: bytes[start..<(end - 3)], as: UTF8.self)
                while index < end { advance() }
                return text
            }
            advance()
        }
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(ParseError) {
        guard let e = peek() else { throw error("unterminated escape") }
        advance()
        switch e {
        case ascii("b"): out.append(0x08)
        case ascii("t"): out.append(0x09)
        case ascii("n"): out.append(0x0A)
        case ascii("f"): out.append(0x0C)
        case ascii("r"): out.append(0x0D)
        case ascii("e"): out.append(0x1B)
        case ascii("\""): out.append(ascii("\""))
        case ascii("\\"): out.append(ascii("\\"))
        case ascii("u"), ascii("U"):
            var scalar: UInt32 = 0
            for _ in 0..<(e == ascii("u") ? 4 : 8) {
                guard let h = peek(), let digit = hexValue(h) else { throw error("invalid unicode escape") }
                scalar = scalar &* 16 &+ digit
                advance()
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid unicode scalar \(scalar)") }
            out.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            throw error("invalid escape \\\(Character(Unicode.Scalar(e)))")
        }
    }

    /// Integers (decimal with _, 0x, 0o, 0b), floats (incl. inf and nan), and dates or times,
    /// which are kept as text.
    private mutating func parseNumberOrDate() throws(ParseError) -> ConfigValue {
        let (startLine, startColumn) = position
        let start = index
        while let c = peek(),
            !(c == ascii(",") || c == ascii("]") || c == ascii("}") || c == ascii("\n") || c == ascii("\r")
                || c == ascii("#"))
        {
            // A date and a time may be separated by one space.
            if c == ascii(" ") || c == ascii("\t") {
                let isDateTime =
                    index - start == 10 && peek(1).map { $0 >= ascii("0") && $0 <= ascii("9") } == true
                    && bytes[start + 4] == ascii("-")
                if !isDateTime { break }
            }
            advance()
        }
        let raw = String(decoding: bytes[start..<index], as: UTF8.self)
        guard !raw.isEmpty else { throw ParseError(message: "expected a value", line: startLine, column: startColumn) }
        if let value = Self.number(raw) { return value }
        if Self.looksLikeDateOrTime(raw) { return .string(raw) }
        throw ParseError(message: "invalid value \(raw.prefix(40))", line: startLine, column: startColumn)
    }

    static func number(_ raw: String) -> ConfigValue? {
        switch raw {
        case "inf", "+inf": return .number(.infinity, text: raw)
        case "-inf": return .number(-.infinity, text: raw)
        case "nan", "+nan", "-nan": return .number(.nan, text: raw)
        default: break
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where raw.hasPrefix(prefix) {
            let digits = raw.dropFirst(2)
            guard !digits.isEmpty, !digits.hasPrefix("_"), !digits.hasSuffix("_"), !digits.contains("__"),
                let value = Int(digits.filter { $0 != "_" }, radix: radix)
            else { return nil }
            return .number(Double(value), text: String(value))
        }
        guard raw.first.map({ $0.isNumber || $0 == "+" || $0 == "-" }) == true,
            !raw.hasPrefix("_"), !raw.hasSuffix("_"), !raw.contains("__"), !raw.contains(":")
        else { return nil }
        let cleaned = raw.filter { $0 != "_" }
        let unsigned = cleaned.drop(while: { $0 == "+" || $0 == "-" })
        // Leading zeros are not allowed in decimal integers ("07" is not 7).
        if unsigned.count > 1, unsigned.hasPrefix("0"), unsigned.dropFirst().first?.isNumber == true { return nil }
        if let i = Int(cleaned) { return .number(Double(i), text: String(i)) }
        if cleaned.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), cleaned.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }),
            let d = Double(cleaned), d.isFinite
        {
            return .number(d, text: cleaned)
        }
        return nil
    }

    static func looksLikeDateOrTime(_ raw: String) -> Bool {
        let allowed = raw.allSatisfy { $0.isNumber || "-:TtZz.+ ".contains($0) }
        let chars = Array(raw)
        let date = chars.count >= 10 && chars[4] == "-" && chars[7] == "-"
        let time = chars.count >= 8 && chars[2] == ":" && chars[5] == ":"
        return allowed && (date || time)
    }

    // MARK: scanning

    private var position: (Int, Int) { (line, index - lineStart + 1) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance() {
        if bytes[index] == ascii("\n") {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private mutating func skipBlanks() {
        while let c = peek(), c == ascii(" ") || c == ascii("\t") { advance() }
    }

    private mutating func skipNewline() {
        if peek() == ascii("\r"), peek(1) == ascii("\n") { advance(); advance() } else if peek() == ascii("\n") { advance() }
    }

    /// After a statement: blanks, an optional comment, then a newline or the end.
    private mutating func skipToLineEnd() throws(ParseError) {
        skipBlanks()
        if peek() == ascii("#") { while let c = peek(), c != ascii("\n") { advance() } }
        if peek() == ascii("\r") { advance() }
        guard let c = peek() else { return }
        guard c == ascii("\n") else { throw error("expected the end of the line, found \(describe(c))") }
        advance()
    }

    private mutating func skipWhitespaceCommentsAndNewlines() throws(ParseError) {
        while let c = peek() {
            if c == ascii(" ") || c == ascii("\t") || c == ascii("\n") || c == ascii("\r") {
                advance()
            } else if c == ascii("#") {
                while let d = peek(), d != ascii("\n") { advance() }
            } else {
                return
            }
        }
    }

    private mutating func expect(_ character: Character, _ context: String) throws(ParseError) {
        let wanted = character.asciiValue!
        guard peek() == wanted else {
            throw error("expected \(character) \(context), found \(peek().map(describe) ?? "end of input")")
        }
        advance()
    }

    private mutating func expectWord(_ word: String) throws(ParseError) {
        for byte in word.utf8 {
            guard peek() == byte else { throw error("invalid value: expected \(word)") }
            advance()
        }
    }

    private func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case ascii("0")...ascii("9"): UInt32(c - ascii("0"))
        case ascii("a")...ascii("f"): UInt32(c - ascii("a") + 10)
        case ascii("A")...ascii("F"): UInt32(c - ascii("A") + 10)
        default: nil
        }
    }

    private func describe(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
    }

    private func error(_ message: String) -> ParseError {
        ParseError(message: message, line: line, column: index - lineStart + 1)
    }
}

private func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(character.value) }

/// A table while the document is read: keys in order, and how the table came to be (a header,
/// a dotted key, or implied by a longer header), which decides what may extend it later.
private final class TOMLTable {
    enum Kind { case explicit, implicit, dotted }
    enum Entry {
        case value(ConfigValue)
        case table(TOMLTable)
        case tables(TOMLTableList)
    }

    var kind: Kind
    var order: [String] = []
    var entries: [String: Entry] = [:]

    init(kind: Kind) { self.kind = kind }

    func insert(_ key: String, _ entry: Entry) {
        order.append(key)
        entries[key] = entry
    }

    func value(depth: Int) -> ConfigValue {
        guard depth < JSONParser.maximumDepth else { return .null }
        return .object(
            ConfigObject(
                order.map { key in
                    let value: ConfigValue
                    switch entries[key] ?? .value(.null) {
                    case .value(let v): value = v
                    case .table(let t): value = t.value(depth: depth + 1)
                    case .tables(let list): value = .array(list.items.map { $0.value(depth: depth + 1) })
                    }
                    return ConfigObject.Member(key: key, value: value)
                }))
    }
}

/// An array of tables, shared by reference so that appending to it does not copy it.
private final class TOMLTableList {
    var items: [TOMLTable]
    init(_ items: [TOMLTable]) { self.items = items }
}

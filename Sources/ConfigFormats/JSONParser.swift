/// A JSON parser that says where a document breaks (line and column), keeps repeated keys, and
/// has a lenient mode that recovers what a broken or unrendered file meant to say.
///
/// Strict mode accepts what Go's encoding/json accepts, since libcni decodes CNI files with it:
/// no comments, no trailing commas, a repeated key keeps its last value. Lenient mode is only for
/// describing files the runtime would reject (templates, hand-edited files): it skips comments,
/// `{{ … }}` template actions, stray commas and bare words (`__CNI_MTU__`, `@mtu`, `$2`), which
/// become null where a value was expected.
public struct JSONParser {
    public enum Mode: Sendable { case strict, lenient }

    /// Deep enough for any configuration, shallow enough that hostile input cannot exhaust the stack.
    public static let maximumDepth = 200

    private let bytes: [UInt8]
    private let mode: Mode
    private var index = 0
    private var line = 1
    private var lineStart = 0

    public static func parse(_ text: String, mode: Mode = .strict) throws(ParseError) -> ConfigValue {
        try parse(bytes: Array(text.utf8), mode: mode)
    }

    public static func parse(bytes: [UInt8], mode: Mode = .strict) throws(ParseError) -> ConfigValue {
        var parser = JSONParser(bytes: mode == .lenient ? stripTemplateActions(bytes) : bytes, mode: mode)
        parser.skipBOM()
        try parser.skipWhitespace()
        guard parser.index < parser.bytes.count else {
            throw parser.error("unexpected end of JSON input")
        }
        let value = try parser.parseValue(depth: 0)
        try parser.skipWhitespace()
        if parser.index < parser.bytes.count && mode == .strict {
            throw parser.error("invalid character \(parser.describeCurrent()) after top-level value")
        }
        return value
    }

    private init(bytes: [UInt8], mode: Mode) {
        self.bytes = bytes
        self.mode = mode
    }

    // MARK: values

    private mutating func parseValue(depth: Int) throws(ParseError) -> ConfigValue {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        guard let byte = current else { throw error("unexpected end of JSON input") }
        if mode == .lenient, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
            return .null  // the value was a template action, now blanked
        }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            if let literal = try parseLiteral() { return literal }
            if mode == .lenient, skipBareWord() { return .null }
            throw error("invalid character \(describeCurrent()) looking for beginning of value")
        }
    }

    private mutating func parseObject(depth: Int) throws(ParseError) -> ConfigValue {
        advance()  // {
        var members: [ConfigObject.Member] = []
        try skipWhitespace()
        if current == UInt8(ascii: "}") {
            advance()
            return .object(ConfigObject(members))
        }
        while true {
            try skipWhitespace()
            if mode == .lenient {
                while current == UInt8(ascii: ",") { advance(); try skipWhitespace() }
                if current == UInt8(ascii: "}") { advance(); break }
            }
            let keyLine = line
            let key: String
            if current == UInt8(ascii: "\"") {
                key = try parseString()
            } else if mode == .lenient, let word = bareWord() {
                key = word
            } else if current == nil {
                throw error("unexpected end of JSON input")
            } else {
                throw error("invalid character \(describeCurrent()) looking for beginning of object key string")
            }
            try skipWhitespace()
            guard current == UInt8(ascii: ":") else {
                throw error(
                    current == nil
                        ? "unexpected end of JSON input"
                        : "invalid character \(describeCurrent()) after object key")
            }
            advance()
            try skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append(.init(key: key, value: value, line: keyLine))
            try skipWhitespace()
            if mode == .lenient {
                if bareWordIsKey() { continue }  // a missing comma before an unquoted key
                skipBareWords()
                try skipWhitespace()
            }
            switch current {
            case UInt8(ascii: ","):
                advance()
                try skipWhitespace()
                if current == UInt8(ascii: "}") {
                    if mode == .lenient { advance(); return .object(ConfigObject(members)) }
                    throw error("invalid character '}' looking for beginning of object key string")
                }
            case UInt8(ascii: "}"):
                advance()
                return .object(ConfigObject(members))
            case nil:
                throw error("unexpected end of JSON input")
            default:
                if mode == .lenient && current == UInt8(ascii: "\"") { continue }  // a missing comma
                throw error("invalid character \(describeCurrent()) after object key:value pair")
            }
        }
        return .object(ConfigObject(members))
    }

    private mutating func parseArray(depth: Int) throws(ParseError) -> ConfigValue {
        advance()  // [
        var elements: [ConfigValue] = []
        try skipWhitespace()
        if current == UInt8(ascii: "]") {
            advance()
            return .array(elements)
        }
        while true {
            try skipWhitespace()
            if mode == .lenient {
                skipBareWords()
                try skipWhitespace()
                while current == UInt8(ascii: ",") { advance(); try skipWhitespace() }
                if current == UInt8(ascii: "]") { advance(); return .array(elements) }
            }
            elements.append(try parseValue(depth: depth))
            try skipWhitespace()
            if mode == .lenient { skipBareWords(); try skipWhitespace() }
            switch current {
            case UInt8(ascii: ","):
                advance()
                try skipWhitespace()
                if current == UInt8(ascii: "]") {
                    if mode == .lenient { advance(); return .array(elements) }
                    throw error("invalid character ']' looking for beginning of value")
                }
            case UInt8(ascii: "]"):
                advance()
                return .array(elements)
            case nil:
                throw error("unexpected end of JSON input")
            default:
                if mode == .lenient, let c = current, c == UInt8(ascii: "{") || c == UInt8(ascii: "[") || c == UInt8(ascii: "\"") {
                    continue  // a missing comma
                }
                throw error("invalid character \(describeCurrent()) after array element")
            }
        }
    }

    private mutating func parseString() throws(ParseError) -> String {
        advance()  // opening quote
        // Most strings have no escape and no control byte: taken as one slice, not byte by byte
        // (a libcni cache entry's base64 config is a string of a kilobyte, read for every pod).
        var plainEnd = index
        while plainEnd < bytes.count, bytes[plainEnd] >= 0x20, bytes[plainEnd] != UInt8(ascii: "\""),
            bytes[plainEnd] != UInt8(ascii: "\\")
        {
            plainEnd += 1
        }
        if plainEnd < bytes.count, bytes[plainEnd] == UInt8(ascii: "\"") {
            let text = String(decoding: bytes[index..<plainEnd], as: UTF8.self)
            index = plainEnd + 1  // past the closing quote; no newline in between (0x0A < 0x20)
            return text
        }
        var out: [UInt8] = []
        out.append(contentsOf: bytes[index..<plainEnd])
        index = plainEnd
        while true {
            guard let byte = current else { throw error("unexpected end of JSON input in string") }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                advance()
                guard let escape = current else { throw error("unexpected end of JSON input in string escape") }
                advance()
                switch escape {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar), current == UInt8(ascii: "\\"),
                        peek(1) == UInt8(ascii: "u")
                    {
                        advance(); advance()
                        let low = try parseHex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                    }
                    let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw error("invalid character \(Self.describe(escape)) in string escape code")
                }
            case 0x00..<0x20:
                if mode == .lenient { advance(); out.append(byte); continue }
                throw error("invalid character \(describeCurrent()) in string literal")
            default:
                out.append(byte)
                advance()
            }
        }
    }

    private mutating func parseHex4() throws(ParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current else { throw error("unexpected end of JSON input in \\u escape") }
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid character \(describeCurrent()) in \\u hexadecimal character escape")
            }
            value = value * 16 + digit
            advance()
        }
        return value
    }

    private mutating func parseNumber() throws(ParseError) -> ConfigValue {
        let start = index
        if current == UInt8(ascii: "-") { advance() }
        guard let first = current, isDigit(first) else {
            throw error("invalid character \(describeCurrent()) in numeric literal")
        }
        advance()
        if first != UInt8(ascii: "0") { while let c = current, isDigit(c) { advance() } }
        if current == UInt8(ascii: ".") {
            advance()
            guard let c = current, isDigit(c) else {
                throw error("invalid character \(describeCurrent()) after decimal point in numeric literal")
            }
            while let c = current, isDigit(c) { advance() }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            advance()
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { advance() }
            guard let c = current, isDigit(c) else { throw error("invalid character \(describeCurrent()) in exponent of numeric literal") }
            while let c = current, isDigit(c) { advance() }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        return .number(Double(text) ?? .infinity, text: text)
    }

    private mutating func parseLiteral() throws(ParseError) -> ConfigValue? {
        for (word, value) in [("true", ConfigValue.bool(true)), ("false", .bool(false)), ("null", .null)] {
            let w = Array(word.utf8)
            if index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w {
                let next: UInt8? = index + w.count < bytes.count ? bytes[index + w.count] : nil
                if mode == .lenient, let next, isBareWordByte(next) { return nil }
                for _ in w { advance() }
                return value
            }
        }
        return nil
    }

    // MARK: lenient helpers

    private func isBareWordByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "\""),
            UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
            return false
        default:
            return true
        }
    }

    private mutating func bareWord() -> String? {
        let start = index
        while let c = current, isBareWordByte(c) { advance() }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    private mutating func skipBareWord() -> Bool { bareWord() != nil }

    /// Whether a bare word here is followed by a colon: an unquoted key, not a stray word.
    private func bareWordIsKey() -> Bool {
        var i = index
        while i < bytes.count, isBareWordByte(bytes[i]) { i += 1 }
        guard i > index else { return false }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        return i < bytes.count && bytes[i] == UInt8(ascii: ":")
    }

    /// Skips bare words (and the blanks between them) where a separator was expected.
    private mutating func skipBareWords() {
        while let c = current, isBareWordByte(c) {
            _ = bareWord()
            while let d = current, d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D { advance() }
        }
    }

    /// Replaces `{{ … }}` actions with spaces (newlines kept, so positions stay right).
    private static func stripTemplateActions(_ input: [UInt8]) -> [UInt8] {
        var out = input
        var i = 0
        while i + 1 < out.count {
            if out[i] == UInt8(ascii: "{"), out[i + 1] == UInt8(ascii: "{") {
                var j = i + 2
                while j + 1 < out.count, !(out[j] == UInt8(ascii: "}") && out[j + 1] == UInt8(ascii: "}")) { j += 1 }
                let end = min(j + 2, out.count)
                for k in i..<end where out[k] != 0x0A { out[k] = 0x20 }
                i = end
            } else {
                i += 1
            }
        }
        return out
    }

    // MARK: scanning

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func peek(_ offset: Int) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance() {
        if bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        index += 1
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipBOM() {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    private mutating func skipWhitespace() throws(ParseError) {
        while let c = current {
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                advance()
            } else if mode == .lenient, c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "/") {
                while let d = current, d != 0x0A { advance() }
            } else if mode == .lenient, c == UInt8(ascii: "/"), peek(1) == UInt8(ascii: "*") {
                advance(); advance()
                while current != nil, !(current == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/")) { advance() }
                if current != nil { advance(); advance() }
            } else {
                return
            }
        }
    }

    private func describeCurrent() -> String {
        guard let c = current else { return "end of input" }
        return Self.describe(c)
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "0x" + String(byte, radix: 16)
    }

    private func error(_ message: String) -> ParseError {
        ParseError(message: message, line: line, column: index - lineStart + 1)
    }
}

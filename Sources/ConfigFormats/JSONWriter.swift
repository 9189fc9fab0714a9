/// Writes a `ConfigValue` as JSON: keys in the order given (reports choose a stable order),
/// two-space indentation, and numbers as written when they were read.
public enum JSONWriter {
    public static func write(_ value: ConfigValue, pretty: Bool = true) -> String {
        var out = ""
        write(value, into: &out, indent: pretty ? 0 : nil)
        return out
    }

    private static func write(_ value: ConfigValue, into out: inout String, indent: Int?) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d, let text):
            if !text.isEmpty { out += text }
            else if d.isFinite, d.rounded() == d, abs(d) < 1e15 { out += String(Int(d)) }
            else if d.isFinite { out += String(d) }
            else { out += "null" }
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            if elements.isEmpty { out += "[]"; return }
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent.map { $0 + 1 })
                write(element, into: &out, indent: indent.map { $0 + 1 })
            }
            newline(&out, indent)
            out += "]"
        case .object(let object):
            if object.members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, member) in object.members.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent.map { $0 + 1 })
                writeString(member.key, into: &out)
                out += indent == nil ? ":" : ": "
                write(member.value, into: &out, indent: indent.map { $0 + 1 })
            }
            newline(&out, indent)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: Int?) {
        guard let indent else { return }
        out += "\n" + String(repeating: "  ", count: indent)
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20 || c.value == 0x7F:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// Builders that keep report code short: optional values become JSON null.
extension ConfigValue {
    public static func int(_ value: Int?) -> ConfigValue {
        value.map { .number(Double($0), text: String($0)) } ?? .null
    }

    public static func text(_ value: String?) -> ConfigValue {
        value.map { .string($0) } ?? .null
    }

    public static func texts(_ values: [String]?) -> ConfigValue {
        values.map { .array($0.map { .string($0) }) } ?? .null
    }

    public static func flag(_ value: Bool?) -> ConfigValue {
        value.map { .bool($0) } ?? .null
    }

    /// An object from key/value pairs in the order given.
    public static func fields(_ pairs: KeyValuePairs<String, ConfigValue>) -> ConfigValue {
        .object(ConfigObject(pairs.map { .init(key: $0.key, value: $0.value) }))
    }

    public static func fields(_ pairs: [(String, ConfigValue)]) -> ConfigValue {
        .object(ConfigObject(pairs.map { .init(key: $0.0, value: $0.1) }))
    }
}

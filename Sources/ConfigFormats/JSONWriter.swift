/// Writes a `ConfigValue` as JSON: keys in the order given (reports choose a stable order),
/// two-space indentation, and numbers as written when they were read.
public enum JSONWriter {
    public static func write(_ value: ConfigValue, pretty: Bool = true) -> String {
        String(decoding: bytes(value, pretty: pretty), as: UTF8.self)
    }

    /// The document as UTF-8 bytes, for writing straight to a file descriptor.
    public static func bytes(_ value: ConfigValue, pretty: Bool = true) -> [UInt8] {
        var out = Output(deliver: nil)
        write(value, into: &out, indent: pretty ? 0 : nil)
        return out.bytes
    }

    /// The document in pieces of about 64 KiB, each handed to `deliver` as soon as it is full,
    /// so that a big report is never held whole as text. `deliver` returns false when nobody
    /// takes more (a closed pipe): writing stops there, and so does this, returning false.
    @discardableResult
    public static func write(
        _ value: ConfigValue, pretty: Bool = true, trailer: [UInt8] = [],
        deliver: @escaping ([UInt8]) -> Bool
    ) -> Bool {
        var out = Output(deliver: deliver)
        write(value, into: &out, indent: pretty ? 0 : nil)
        out.bytes += trailer
        return out.flush()
    }

    /// Bytes written so far, and where full pieces go (nil: kept whole).
    private struct Output {
        static let piece = 1 << 16
        var bytes: [UInt8] = []
        let deliver: (([UInt8]) -> Bool)?
        var stopped = false

        init(deliver: (([UInt8]) -> Bool)?) {
            self.deliver = deliver
            bytes.reserveCapacity(Self.piece + Self.piece / 4)
        }

        /// Hands over what is written when a piece is full; false once nobody takes more.
        mutating func deliverIfFull() -> Bool {
            guard deliver != nil, bytes.count >= Self.piece else { return !stopped }
            return flush()
        }

        mutating func flush() -> Bool {
            guard let deliver, !stopped else { return !stopped }
            if !deliver(bytes) { stopped = true }
            bytes.removeAll(keepingCapacity: true)
            return !stopped
        }

        static func += (out: inout Output, text: String.UTF8View) { out.bytes += text }
        mutating func append(_ byte: UInt8) { bytes.append(byte) }
    }

    // Bytes, not String appends: reports of big namespaces hold tens of thousands of routes.
    private static func write(_ value: ConfigValue, into out: inout Output, indent: Int?) {
        switch value {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .number(let d, let text):
            if !text.isEmpty {
                out += text.utf8
            } else if d.isFinite, d.rounded() == d, abs(d) < 1e15 {
                out += String(Int(d)).utf8
            } else if d.isFinite {
                out += String(d).utf8
            } else {
                out += "null".utf8
            }
        case .string(let s): writeString(s, into: &out.bytes)
        case .array(let elements):
            writeArray(count: elements.count, into: &out, indent: indent) { elements[$0] }
        case .generated(let generated):
            writeArray(count: generated.count, into: &out, indent: indent) { generated.element(at: $0) }
        case .object(let object):
            if object.members.isEmpty { out += "{}".utf8; return }
            out.append(UInt8(ascii: "{"))
            let inner = indent.map { $0 + 1 }
            let members = object.members
            for i in members.indices {
                guard out.deliverIfFull() else { return }
                if i > 0 { out.append(UInt8(ascii: ",")) }
                newline(&out.bytes, inner)
                writeString(members[i].key, into: &out.bytes)
                out.append(UInt8(ascii: ":"))
                if indent != nil { out.append(UInt8(ascii: " ")) }
                write(members[i].value, into: &out, indent: inner)
            }
            newline(&out.bytes, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeArray(count: Int, into out: inout Output, indent: Int?, element: (Int) -> ConfigValue) {
        if count == 0 { out += "[]".utf8; return }
        out.append(UInt8(ascii: "["))
        let inner = indent.map { $0 + 1 }
        for i in 0..<count {
            guard out.deliverIfFull() else { return }
            if i > 0 { out.append(UInt8(ascii: ",")) }
            newline(&out.bytes, inner)
            write(element(i), into: &out, indent: inner)
        }
        newline(&out.bytes, indent)
        out.append(UInt8(ascii: "]"))
    }

    private static func newline(_ out: inout [UInt8], _ indent: Int?) {
        guard let indent else { return }
        out.append(0x0A)
        for _ in 0..<(indent * 2) { out.append(0x20) }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        // Most strings need no escaping: copy their bytes whole.
        let copied: Bool = s.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                return false
            }
            out.append(contentsOf: bytes)
            return true
        }
        if copied {
            out.append(UInt8(ascii: "\""))
            return
        }
        let utf8 = s.utf8
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0D: out += "\\r".utf8
            case 0x09: out += "\\t".utf8
            case 0..<0x20, 0x7F:
                out += "\\u00".utf8
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
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
        var members: [ConfigObject.Member] = []
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs { members.append(ConfigObject.Member(key: key, value: value)) }
        return .object(ConfigObject(members))
    }

    public static func fields(_ pairs: [(String, ConfigValue)]) -> ConfigValue {
        .object(ConfigObject(pairs.map { .init(key: $0.0, value: $0.1) }))
    }
}

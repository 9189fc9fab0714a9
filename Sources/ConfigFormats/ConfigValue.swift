/// A parsed configuration document, whatever its syntax (JSON, YAML, TOML): the one tree the
/// readers of CNI, kubelet and runtime files walk. Objects keep every key in file order, and a
/// lookup returns the last value of a repeated key, as Go's encoding/json and libcni do.
public enum ConfigValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number as written, so that `1.0` and `1` can be told apart when it matters.
    case number(Double, text: String)
    case string(String)
    case array([ConfigValue])
    /// An array whose elements are made one at a time as they are written (reports only): a
    /// report of tens of thousands of routes need not hold a tree of them all at once.
    case generated(GeneratedArray)
    case object(ConfigObject)

    public subscript(key: String) -> ConfigValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// A Go struct field's value as encoding/json fills it (see ConfigObject.field).
    public func field(_ name: String) -> ConfigValue? {
        if case .object(let object) = self { return object.field(name) }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var double: Double? {
        if case .number(let d, _) = self { return d }
        return nil
    }

    /// An integral number; nil for fractions and non-numbers.
    public var int: Int? {
        guard case .number(let d, _) = self, d.rounded() == d, abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    public var array: [ConfigValue]? {
        switch self {
        case .array(let a): a
        case .generated(let g): g.elements
        default: nil
        }
    }

    public var object: ConfigObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the kind of value, for messages ("expected a string, found an array").
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array, .generated: "an array"
        case .object: "an object"
        }
    }
}

/// The members of an object in file order. Repeated keys are all kept; lookups see the last.
public struct ConfigObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: ConfigValue
        /// 1-based line where the key starts; 0 when the format does not tell.
        public var line: Int
        public init(key: String, value: ConfigValue, line: Int = 0) {
            self.key = key
            self.value = value
            self.line = line
        }

        /// Where a member stood is not part of what it says.
        public static func == (a: Member, b: Member) -> Bool { a.key == b.key && a.value == b.value }
    }

    public var members: [Member]

    public init(_ members: [Member] = []) { self.members = members }

    public subscript(key: String) -> ConfigValue? {
        members.last(where: { $0.key == key })?.value
    }

    /// The value Go's encoding/json puts in a struct field tagged `name`: the last member whose
    /// key matches it exactly or case-insensitively (golang/go#43664: `"Type"` fills `type`, and
    /// of `"type"` and `"Type"` the later wins). libcni and the plugins decode CNI configs so.
    public func field(_ name: String) -> ConfigValue? {
        members.last(where: { Self.sameField($0.key, name) })?.value
    }

    /// Equal, or equal but for case: bytewise for ASCII keys (every CNI key), folded otherwise.
    static func sameField(_ key: String, _ name: String) -> Bool {
        if key == name { return true }
        let (k, n) = (key.utf8, name.utf8)
        if k.allSatisfy({ $0 < 0x80 }) && n.allSatisfy({ $0 < 0x80 }) {
            guard k.count == n.count else { return false }
            return zip(k, n).allSatisfy { ($0 | 0x20) == ($1 | 0x20) && (($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A || $0 == $1) }
        }
        return folded(key) == folded(name)
    }

    /// Simple case folding as Go's EqualFold does it, for the keys configs use.
    static func folded(_ key: String) -> String {
        String(
            String.UnicodeScalarView(
                key.unicodeScalars.map { scalar -> Unicode.Scalar in
                    switch scalar.value {
                    case 0x212A: return "k"  // KELVIN SIGN folds to k
                    case 0x017F: return "s"  // LATIN SMALL LETTER LONG S folds to s
                    default:
                        return scalar.properties.lowercaseMapping.unicodeScalars.count == 1
                            ? scalar.properties.lowercaseMapping.unicodeScalars.first! : scalar
                    }
                }))
    }

    /// Keys in first-appearance order, each once.
    public var keys: [String] {
        var seen = Set<String>()
        return members.compactMap { seen.insert($0.key).inserted ? $0.key : nil }
    }

    /// Keys that appear more than once, with every line they appear on.
    public var repeatedKeys: [(key: String, lines: [Int])] {
        var lines: [String: [Int]] = [:]
        for member in members { lines[member.key, default: []].append(member.line) }
        return keys.compactMap { key in
            let at = lines[key]!
            return at.count > 1 ? (key, at) : nil
        }
    }
}

/// Where a document stopped making sense: 1-based line and column (in bytes), and what was wrong.
public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int

    public init(message: String, line: Int, column: Int) {
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        line > 0 ? "line \(line), column \(column): \(message)" : message
    }
}

/// The elements of a `.generated` array: a count and how to make the element at a position.
public struct GeneratedArray: Sendable, Equatable {
    public let count: Int
    private let element: @Sendable (Int) -> ConfigValue

    /// Each element of `base`, transformed when it is written.
    public init<Base: RandomAccessCollection & Sendable>(_ base: Base, _ transform: @escaping @Sendable (Base.Element) -> ConfigValue)
    where Base.Index == Int {
        count = base.count
        element = { transform(base[base.startIndex + $0]) }
    }

    public func element(at position: Int) -> ConfigValue { element(position) }
    /// Every element, made now (readers of a report; writers make them one at a time).
    public var elements: [ConfigValue] { (0..<count).map(element) }

    public static func == (a: GeneratedArray, b: GeneratedArray) -> Bool { a.elements == b.elements }
}

import TOMLKit

/// TOML to `ConfigValue` through TOMLKit (toml++), keeping toml++'s error position.
public enum TOMLReader {
    public static func parse(_ text: String) throws(ParseError) -> ConfigValue {
        // toml++ stops at an embedded NUL without saying so; no real config has one.
        if text.utf8.contains(0) {
            throw ParseError(message: "NUL byte in TOML document", line: 0, column: 0)
        }
        do {
            let table = try TOMLTable(string: text)
            return convert(table, depth: 0)
        } catch let error as TOMLParseError {
            throw ParseError(message: error.description, line: Int(error.source.begin.line),
                             column: Int(error.source.begin.column))
        } catch {
            throw ParseError(message: String(describing: error), line: 0, column: 0)
        }
    }

    private static func convert(_ value: TOMLValueConvertible, depth: Int) -> ConfigValue {
        guard depth < JSONParser.maximumDepth else { return .null }
        switch value.type {
        case .table:
            guard let table = value.table else { return .null }
            return .object(ConfigObject(table.keys.compactMap { key in
                table[key].map { .init(key: key, value: convert($0, depth: depth + 1)) }
            }))
        case .array:
            guard let array = value.array else { return .null }
            return .array(array.map { convert($0, depth: depth + 1) })
        case .string:
            return .string(value.string ?? "")
        case .int:
            let i = value.int ?? 0
            return .number(Double(i), text: String(i))
        case .double:
            let d = value.double ?? 0
            return .number(d, text: String(d))
        case .bool:
            return .bool(value.bool ?? false)
        default:
            return .string(value.debugDescription)
        }
    }
}

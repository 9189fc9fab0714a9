import Yams

/// YAML (and JSON, which YAML reads too) to `ConfigValue`, with Yams resolving scalar types as
/// the kubelet's YAML decoder would (`true`, `10`, `1.5`, `null`, else a string).
public enum YAMLReader {
    public static func parse(_ text: String) throws(ParseError) -> ConfigValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.parseError(from: error)
        } catch {
            throw ParseError(message: String(describing: error), line: 0, column: 0)
        }
        guard let node else { return .null }
        return convert(node, depth: 0)
    }

    private static func convert(_ node: Node, depth: Int) -> ConfigValue {
        // Aliases can make a small document expand without bound; configs never nest this deep.
        guard depth < JSONParser.maximumDepth else { return .null }
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain || scalar.style == .any {
                if node.null != nil { return .null }
                if let b = node.bool { return .bool(b) }
                if let i = node.int { return .number(Double(i), text: scalar.string) }
                if let d = node.float, d.isFinite { return .number(d, text: scalar.string) }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .array(sequence.map { convert($0, depth: depth + 1) })
        case .mapping(let mapping):
            var members: [ConfigObject.Member] = []
            for (key, value) in mapping {
                let name = key.string ?? key.scalar?.string ?? ""
                members.append(.init(key: name, value: convert(value, depth: depth + 1), line: key.mark?.line ?? 0))
            }
            return .object(ConfigObject(members))
        case .alias:
            return .null
        }
    }

    private static func parseError(from error: YamlError) -> ParseError {
        switch error {
        case .scanner(let context, let problem, let mark, _):
            return ParseError(message: [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": "),
                              line: mark.line, column: mark.column)
        case .parser(let context, let problem, let mark, _):
            return ParseError(message: [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": "),
                              line: mark.line, column: mark.column)
        case .composer(let context, let problem, let mark, _):
            return ParseError(message: [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": "),
                              line: mark.line, column: mark.column)
        case .reader(let problem, _, _, _):
            return ParseError(message: problem, line: 0, column: 0)
        default:
            return ParseError(message: String(describing: error), line: 0, column: 0)
        }
    }
}

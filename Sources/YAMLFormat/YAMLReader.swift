import ConfigFormats
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
        var budget = maximumValues
        guard let value = convert(node, depth: 0, budget: &budget) else {
            throw ParseError(
                message: "the document expands to more than \(maximumValues) values (YAML aliases repeating aliases?): refused",
                line: 0, column: 0)
        }
        return value
    }

    /// The most values a document may expand to. Aliases let 1 KB name billions of values (an
    /// alias bomb); a kubelet config has hundreds.
    public static let maximumValues = 200_000

    /// nil when the budget runs out: the document is refused whole, never half-read.
    private static func convert(_ node: Node, depth: Int, budget: inout Int) -> ConfigValue? {
        budget -= 1
        guard budget >= 0 else { return nil }
        // Configs never nest this deep.
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
            var items: [ConfigValue] = []
            for item in sequence {
                guard let value = convert(item, depth: depth + 1, budget: &budget) else { return nil }
                items.append(value)
            }
            return .array(items)
        case .mapping(let mapping):
            var members: [ConfigObject.Member] = []
            for (key, value) in mapping {
                let name = key.string ?? key.scalar?.string ?? ""
                guard let converted = convert(value, depth: depth + 1, budget: &budget) else { return nil }
                members.append(.init(key: name, value: converted, line: key.mark?.line ?? 0))
            }
            return .object(ConfigObject(members))
        case .alias:
            return .null
        }
    }

    private static func parseError(from error: YamlError) -> ParseError {
        switch error {
        case .scanner(let context, let problem, let mark, _):
            return ParseError(
                message: [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": "),
                line: mark.line, column: mark.column)
        case .parser(let context, let problem, let mark, _):
            return ParseError(
                message: [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": "),
                line: mark.line, column: mark.column)
        case .composer(let context, let problem, let mark, _):
            return ParseError(
                message: [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": "),
                line: mark.line, column: mark.column)
        case .reader(let problem, _, _, _):
            return ParseError(message: problem, line: 0, column: 0)
        default:
            return ParseError(message: String(describing: error), line: 0, column: 0)
        }
    }
}

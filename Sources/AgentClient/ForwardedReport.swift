import ConfigFormats
import Diagnosis

/// A report another node's agent made (GET /v1/check), shown as it was made: its JSON keys
/// kept, `agent` added, its findings read back and rendered here like any report's.
public struct ForwardedReport: Report {
    public let command: String
    public let agent: String
    public let findings: [Finding]
    let fields: [(String, ConfigValue)]

    /// `answer`: the agent's JSON; a reply that is not a report is an error of the caller's.
    public init?(agent: String, answer: ConfigValue) {
        guard let command = answer["command"]?.string, case .object(let object) = answer else { return nil }
        self.command = command
        self.agent = agent
        findings = (answer["findings"]?.array ?? []).compactMap(Finding.init(json:))
        fields = object.members.filter { !["schemaVersion", "command", "findings"].contains($0.key) }.map { ($0.key, $0.value) }
    }

    public var jsonFields: [(String, ConfigValue)] { [("agent", .string(agent))] + fields }

    /// The agent, and the report's plain values (texts, numbers, flags) as they came.
    public func humanSections(style: TextStyle) -> [HumanSection] {
        let rows = fields.compactMap { key, value -> (String, String)? in
            switch value {
            case .string(let text): (key, Printable.line(text))
            case .number(_, let text): (key, text)
            case .bool(let flag): (key, String(flag))
            default: nil
            }
        }
        return [HumanSection("\(command) on the node of \(agent)", rows: [("agent", agent)] + rows)]
    }
}

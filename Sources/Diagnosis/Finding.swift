import ConfigFormats

/// How bad a finding is. `error` means pods are (or will be) broken and sets exit status 1.
public enum Severity: String, Sendable, Comparable, CaseIterable {
    case info, warning, error

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One thing netdoctor found: what, how bad, where, the evidence it rests on, and what to do.
/// Every command reports through this one type; the human and JSON outputs both render it.
public struct Finding: Sendable, Hashable {
    public let code: FindingCode
    public let severity: Severity
    /// One plain sentence.
    public let message: String
    /// Where on the path or node: a file, a namespace and interface, a chain.
    public let hop: String?
    /// What was seen, each line traceable to its source (file:line, a command, a counter).
    public let evidence: [String]
    public let remedy: String?

    public init(
        _ code: FindingCode, _ severity: Severity, _ message: String, hop: String? = nil,
        evidence: [String] = [], remedy: String? = nil
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.hop = hop
        self.evidence = evidence
        self.remedy = remedy
    }

    /// The same finding, its message saying what part of a larger whole it is about (an address
    /// family of a dual-stack trace, a delegate of a multus config): a new finding, the original
    /// left as its check made it.
    public func about(_ part: String) -> Finding {
        Finding(code, severity, "\(part): \(message)", hop: hop, evidence: evidence, remedy: remedy)
    }

    /// The same finding with more evidence (another source agreeing with its check).
    public func adding(evidence more: [String]) -> Finding {
        Finding(code, severity, message, hop: hop, evidence: evidence + more, remedy: remedy)
    }

    /// A finding read back from its JSON (as a remote agent sends it); nil when it is not one.
    public init?(json: ConfigValue) {
        guard let code = json["code"]?.string, let severity = json["severity"]?.string.flatMap(Severity.init(rawValue:)),
            let message = json["message"]?.string
        else { return nil }
        self.init(
            FindingCode(rawValue: code), severity, message, hop: json["hop"]?.string,
            evidence: json["evidence"]?.array?.compactMap(\.string) ?? [], remedy: json["remedy"]?.string)
    }

    /// The contract's JSON shape; these keys must not change.
    public var json: ConfigValue {
        .fields([
            "code": .string(code.rawValue),
            "severity": .string(severity.rawValue),
            "message": .string(message),
            "hop": .text(hop),
            "evidence": .texts(evidence),
            "remedy": .text(remedy),
        ])
    }
}

/// What a command hands to the renderers: its findings plus its own facts, described once
/// for JSON and once for people from the same stored values.
public protocol Report: Sendable {
    /// The subcommand's name, as in `"command"`.
    var command: String { get }
    var findings: [Finding] { get }
    /// The command's own JSON keys, after "command" and before "findings".
    var jsonFields: [(String, ConfigValue)] { get }
    /// The facts section of the human output, as label/value rows.
    func humanSections(style: TextStyle) -> [HumanSection]
    /// The contract's exit status for this report (default: 1 when any finding is an error).
    var exitStatus: Int32 { get }
}

/// A titled block of label/value rows in the human output.
public struct HumanSection: Sendable {
    public var title: String
    public var rows: [(label: String, value: String)]

    public init(_ title: String, rows: [(label: String, value: String)]) {
        self.title = title
        self.rows = rows
    }
}

extension Report {
    /// The worst severity among the findings, nil when there are none.
    public var worstSeverity: Severity? { findings.map(\.severity).max() }

    /// The contract's exit status for a finished diagnosis: 1 when any finding is an error.
    public var exitStatus: Int32 { worstSeverity == .error ? 1 : 0 }

    public var json: ConfigValue {
        var fields: [(String, ConfigValue)] = [("schemaVersion", .int(1)), ("command", .string(command))]
        fields += jsonFields
        fields.append(("findings", .array(sortedFindings.map(\.json))))
        return .fields(fields)
    }

    /// Errors first, then warnings, then notes; stable within a severity.
    public var sortedFindings: [Finding] {
        findings.enumerated().sorted { a, b in
            a.element.severity != b.element.severity ? a.element.severity > b.element.severity : a.offset < b.offset
        }.map(\.element)
    }
}

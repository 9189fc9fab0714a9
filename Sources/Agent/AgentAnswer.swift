import Capture
import ConfigFormats
import Diagnosis
import Pods

/// An answer of the agent's trace routes (the remote half of a trace, its session) as a Report: the
/// same envelope as every command's JSON (schemaVersion, command, the
/// answer's keys, findings sorted), so that clients read one shape.
struct AgentAnswer: Report {
    var command: String
    var jsonFields: [(String, ConfigValue)]
    var findings: [Finding] = []

    func humanSections(style: TextStyle) -> [HumanSection] { [] }
}

/// The agent's capture answer: the capture command's report, with what each packet was.
struct AgentCaptureAnswer: Report {
    var base: PodSourcedReport<CaptureReport>
    var packetSummaries: [ConfigValue]

    var command: String { "capture" }
    var findings: [Finding] { base.findings }
    var jsonFields: [(String, ConfigValue)] { base.jsonFields + [("packetSummaries", .array(packetSummaries))] }
    func humanSections(style: TextStyle) -> [HumanSection] { [] }
}

import ConfigFormats
import Diagnosis

/// What `capture` reports at the end: per point, the packets it saw and the kernel's counts.
public struct CaptureReport: Report {
    public let command = "capture"
    var points: [CapturePoint]
    var handles: [PcapHandle]
    var outcome: CaptureRun.Outcome
    var file: String?
    var problems: [String]

    public init(points: [CapturePoint], handles: [PcapHandle], outcome: CaptureRun.Outcome, file: String?, problems: [String]) {
        self.points = points
        self.handles = handles
        self.outcome = outcome
        self.file = file
        self.problems = problems
    }

    /// CAPTURE_DROPPED for a trace: hops that were not watched for the whole probe.
    public static func incompleteHops(_ problems: [String]) -> [Finding] {
        guard !problems.isEmpty else { return [] }
        return [
            Finding(
                .captureDropped, .warning, "Some hops were not watched for the whole probe: what they saw is incomplete.",
                hop: nil, evidence: problems,
                remedy: "Trace again; if an interface vanished, inspect the pod (netdoctor inspect) to see what changed.")
        ]
    }

    public var findings: [Finding] {
        var findings: [Finding] = []
        for (index, point) in points.enumerated() where outcome.statistics[index].dropped > 0 {
            findings.append(
                Finding(
                    .captureDropped, .warning,
                    "The kernel dropped \(outcome.statistics[index].dropped) packets at \(point.name) before netdoctor could read them.",
                    hop: point.name,
                    evidence: ["pcap_stats: received \(outcome.statistics[index].received), dropped \(outcome.statistics[index].dropped)"],
                    remedy: "Narrow the filter, or capture fewer points at once."))
        }
        for problem in problems {
            findings.append(Finding(.captureDropped, .warning, problem))
        }
        return findings
    }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("file", .text(file)), ("packets", .int(outcome.delivered)), ("ended", .string(outcome.reason)),
            (
                "points",
                .array(
                    points.indices.map { i in
                        .fields([
                            "name": .string(points[i].name), "interface": .string(points[i].interface),
                            "linkType": .int(Int(handles[i].linkType)), "packets": .int(outcome.perPoint[i]),
                            "received": .int(Int(outcome.statistics[i].received)), "dropped": .int(Int(outcome.statistics[i].dropped)),
                        ])
                    })
            ),
        ]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        var rows = points.indices.map { i in
            (
                points[i].name,
                "\(outcome.perPoint[i]) packets; kernel: \(outcome.statistics[i].received) received, \(outcome.statistics[i].dropped) dropped"
            )
        }
        rows.append(("ended", outcome.reason))
        if let file { rows.append(("file", "\(file) (pcapng, \(outcome.delivered) packets)")) }
        return [HumanSection("Capture", rows: rows)]
    }
}

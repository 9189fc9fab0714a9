import ConfigFormats
import Diagnosis

/// The answer of `mtu-probe`: each path's MTU, the probes that decided it, this node's
/// interfaces along it, and the findings.
public struct MTUProbeReport: Report {
    public let command = "mtu-probe"
    public var paths: [ProbedPath]
    public var findings: [Finding]
    /// Show every probe in the human output.
    public var verbose: Bool

    public init(paths: [ProbedPath], findings: [Finding], verbose: Bool) {
        self.paths = paths
        self.findings = findings
        self.verbose = verbose
    }

    public var jsonFields: [(String, ConfigValue)] {
        [
            (
                "paths",
                .array(
                    paths.map { path in
                        .fields([
                            "source": .string(path.source),
                            "destination": .string(path.destination),
                            "destinationAddress": .string(path.destinationAddress.description),
                            "pathMTU": .int(path.measurement.pathMTU),
                            "interfaceMTU": .int(path.interfaceMTU),
                            "expectedMTU": .int(path.expectedMTU),
                            "verdict": .string(Self.verdictName(path.measurement.verdict)),
                            "probes": .array(path.measurement.probes.map(Self.probeJSON)),
                            "interfaces": .array(
                                path.interfaces.map { i in
                                    .fields([
                                        "namespace": .string(i.namespace), "name": .string(i.name), "kind": .string(i.kind),
                                        "mtu": .int(i.mtu), "role": .string(i.role.rawValue), "overhead": .int(i.overhead),
                                    ])
                                }),
                        ])
                    })
            )
        ]
    }

    static func verdictName(_ verdict: PathMeasurement.Verdict) -> String {
        switch verdict {
        case .clean: "clean"
        case .icmp: "icmp-fragmentation-needed"
        case .blackhole: "blackhole"
        case .noAnswer: "no-answer"
        }
    }

    static func probeJSON(_ probe: ProbeRecord) -> ConfigValue {
        var from: String? = nil
        var mtu: Int? = nil
        switch probe.outcome {
        case .passed(let f): from = f?.description
        case .fragmentationNeeded(let f, let m): from = f?.description; mtu = m
        case .localLimit(let m): mtu = m
        case .unreachable(let f, _, _, _): from = f?.description
        case .silent: break
        }
        return .fields([
            "size": .int(probe.size), "outcome": .string(probe.outcome.label), "from": .text(from), "mtu": .int(mtu),
            "milliseconds": .int(probe.milliseconds),
        ])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        var rows: [(String, String)] = []
        for path in paths {
            let m = path.measurement
            var line = "\(path.destination)  "
            line += m.pathMTU.map { "pmtu \(style.bold(String($0)))" } ?? style.red("no answer")
            if let i = path.interfaceMTU { line += "  interface \(i)" }
            switch m.verdict {
            case .clean: line += "  " + style.green("✔ clean")
            case .icmp(let from, let mtu):
                line += path.mtuExcess != nil ? "  " + style.red("✘ MTU mismatch") : "  " + style.green("✔")
                line += " (ICMP frag needed from \(from.map(\.description) ?? "?"), mtu \(mtu))"
            case .blackhole: line += "  " + style.red("✘ black hole above \(m.pathMTU ?? 0)")
            case .noAnswer(let why): line += "  " + style.red("✘ \(why)")
            }
            line += style.dim(
                "  (\(m.probes.count) probe\(m.probes.count == 1 ? "" : "s"), \(m.probes.map(\.milliseconds).reduce(0, +)) ms)")
            rows.append((path.source + " →", line))
            if verbose {
                rows += path.interfaces.map { ("", "  " + $0.label + ($0.role == .underlay ? " − \($0.overhead ?? 0)" : "")) }
                rows += m.probes.map { ("", "  " + MTUProber.describe($0)) }
            }
        }
        return [HumanSection("Path MTU", rows: rows.isEmpty ? [("(no path)", "")] : rows)]
    }
}

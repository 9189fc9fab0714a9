import Diagnosis
import Firewall

/// RULE_TRACE_FAILED: --trace-rules asked for what the kernel, nft or privileges did not allow,
/// or its table could not be removed (said with the command that removes it).
public enum RuleTraceFindings {
    public static let codes: [FindingCode] = [.ruleTraceFailed]

    public static func problems(_ views: [RuleTraceView]) -> [Finding] {
        views.compactMap { view in
            guard let problem = view.problem else { return nil }
            if let table = view.leftTable {
                return Finding(
                    .ruleTraceFailed, .warning, "netdoctor's tracing table \(table) could not be removed from \(view.label).",
                    hop: view.label, evidence: [problem],
                    remedy:
                        "Remove it: nft delete table \(RuleTrace.tableFamily) \(table) (in \(view.label)'s namespace). The next --trace-rules also removes tables whose process is gone."
                )
            }
            return Finding(
                .ruleTraceFailed, .warning, "The rules the probe met in \(view.label) could not be traced: \(problem).",
                hop: view.label, evidence: [problem],
                remedy: "--trace-rules needs root (CAP_NET_ADMIN), nft, and a kernel with nf_tables; the probe's verdict stands without it."
            )
        }
    }
}

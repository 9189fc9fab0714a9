import Diagnosis

/// CNI_BINARY_MISSING, built here only: a plugin the active chain needs is not in the runtime's
/// bin dirs (every sandbox fails), or one of another file's, which CRI-O then skips.
enum BinaryMissing {
    static func activeNeeds(_ type: String, file: String, evidence: [String], binDirs: [String]) -> Finding {
        Finding(
            .cniBinaryMissing, .error,
            "The active network needs the plugin \(type), which is not in the runtime's bin dirs: every pod sandbox will fail.",
            hop: file, evidence: evidence,
            remedy:
                "Install \(type) into \(binDirs.joined(separator: " or ")) (the CNI's install container, or containernetworking-plugins).")
    }

    static func crioSkips(
        _ reading: ConfigFileReading, missing: [(type: String, outcome: BinaryLookup.Outcome)], binDirs: [String]
    ) -> Finding {
        Finding(
            .cniBinaryMissing, .warning,
            "CRI-O skips \(reading.fileName): its plugin\(missing.count == 1 ? "" : "s") \(missing.map(\.type).joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not in \(binDirs.joined(separator: ", ")).",
            hop: reading.nodePath,
            evidence: missing.map { "\($0.type): \($0.outcome == .missing ? "not found" : "not executable")" },
            remedy: "Install the plugins, or remove the file.")
    }
}

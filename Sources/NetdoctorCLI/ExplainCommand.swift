import ArgumentParser
import Diagnosis

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "What a finding code means, how netdoctor decides it, and what to do.")

    /// Accepted like every subcommand's (the catalogue reads no node file).
    @OptionGroup var global: GlobalOptions

    @Argument(help: "A finding code (e.g. CNI_BINARY_MISSING); all codes when omitted.")
    var code: String?

    @Flag(help: "Print the whole catalogue as Markdown (docs/findings.md).")
    var markdown = false

    func run() throws {
        if markdown {
            writeStandardOutput(FindingCatalogue.markdown)
            return
        }
        if let code {
            guard let entry = FindingCatalogue.entries.first(where: { $0.code.rawValue == code.uppercased() }) else {
                throw CLIError(.badInput, "unknown finding code \(code) (netdoctor explain lists them)")
            }
            writeStandardOutput(
                """
                \(entry.code)  (\(entry.area)\(entry.inContract ? "" : ", netdoctor's addition"))
                Means:       \(entry.meaning)
                Decided by:  \(entry.decidedBy)
                What to do:  \(entry.remedy)\n

                """)
            return
        }
        for entry in FindingCatalogue.entries {
            writeStandardOutput("\(entry.code.rawValue.padding(toLength: 26)) \(entry.area)\n")
        }
    }
}

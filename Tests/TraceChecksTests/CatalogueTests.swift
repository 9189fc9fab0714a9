import Checks
import Diagnosis
import NodeFiles
import TestSupport
import Testing

/// One definition per finding code: the catalogue names the file that raises each code, and no
/// other source file builds that code's finding.
@Suite("each code is decided in one place, the one the catalogue names")
struct CatalogueTests {
    /// Every Swift source file, with its text.
    static let sources: [(path: String, text: String)] = {
        func walk(_ directory: String) -> [String] {
            ((try? NodeRoot("/").list(directory)) ?? []).flatMap { entry -> [String] in
                let path = directory + "/" + entry.name
                if entry.name.hasSuffix(".swift") { return [path] }
                return NodeRoot("/").status(path)?.isDirectory == true && entry.name != "Generated" ? walk(path) : []
            }
        }
        return walk(Repository.root + "/Sources").compactMap { path in
            (try? NodeRoot("/").readText(path, limit: 1 << 22)).map { (String(path.dropFirst(Repository.root.count + 1)), $0) }
        }
    }()

    @Test("the file the catalogue names is the only one that raises the code", arguments: FindingCatalogue.entries.map(\.code.rawValue))
    func decidedInOnePlace(code: String) throws {
        let finding = FindingCode(rawValue: code)
        let file = try #require(FindingCatalogue.decidedIn[finding], "\(code): the catalogue names no file that raises it")
        let name = Self.swiftName(of: finding)
        let raising = Self.sources.filter { source in Self.builtCodes(in: source.text).contains(name) }.map(\.path)
        #expect(raising == [file], "\(code) is raised in \(raising), the catalogue says \(file)")
    }

    /// A finding's code is written where it is built: `Finding(.code, …` or a choice of codes
    /// (`Finding(x ? .a : .b, …`). A code computed elsewhere and handed in would escape the test
    /// above; only copies of a finding made elsewhere may do that.
    @Test("every finding is built with its code written out, except copies of findings made elsewhere")
    func codesWrittenOut() {
        let copies: Set<String> = [
            "Sources/Diagnosis/Finding.swift",  // about(_:) and the JSON a remote agent sent
            "Sources/Watch/IncidentsReport.swift",  // an incident's code, as it was recorded
            "Sources/CNIDetection/RuntimeLoad.swift",  // a file's own problem, said as the runtime's load sees it
        ]
        for source in Self.sources where !copies.contains(source.path) {
            for argument in Self.firstArguments(in: source.text) {
                #expect(
                    argument.hasPrefix(".") || argument.contains("? ."), "\(source.path): Finding(\(argument), …: a code not written out")
            }
        }
    }

    /// The codes written as the first argument of `Finding(` in a source text.
    static func builtCodes(in text: String) -> Set<String> {
        Set(
            firstArguments(in: text).flatMap { argument in
                argument.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "." }).filter { $0.hasPrefix(".") }.map {
                    String($0.dropFirst())
                }
            })
    }

    /// The text of the first argument of every `Finding(` call (not `[Finding](`, not `-> Finding`).
    static func firstArguments(in text: String) -> [String] {
        var arguments: [String] = []
        var rest = text[...]
        while let found = rest.range(of: "Finding(") {
            let before = rest[..<found.lowerBound].last
            rest = rest[found.upperBound...]
            guard before.map({ !$0.isLetter && !$0.isNumber && $0 != "]" }) ?? true else { continue }
            let argument = rest.drop { $0 == " " || $0 == "\n" }.prefix { $0 != "," && $0 != ")" && $0 != "\n" }
            if !argument.isEmpty, !argument.hasPrefix("json:") { arguments.append(argument.trimmingCharacters(in: .whitespaces)) }
        }
        return arguments
    }

    @Test("every code of the catalogue has the one file that raises it")
    func everyCodeHasAFile() {
        #expect(Set(FindingCatalogue.entries.map(\.code)) == Set(FindingCatalogue.decidedIn.keys))
    }

    @Test("every check declares the codes it raises, and the catalogue sends each of them to the check's file")
    func checksAndCatalogue() {
        for check in PathChecks.all {
            let file = "Sources/Checks/\(String(describing: check)).swift"
            for code in check.codes {
                #expect(FindingCatalogue.decidedIn[code] == file, "\(code): \(check)")
            }
        }
    }

    /// `.bridgePortMissing` for BRIDGE_PORT_MISSING: the static the code is declared as.
    static func swiftName(of code: FindingCode) -> String {
        let source = sources.first { $0.path == "Sources/Diagnosis/FindingCode.swift" }?.text ?? ""
        for line in source.split(separator: "\n") where line.contains("\"\(code.rawValue)\"") {
            let words = line.split(separator: " ")
            if let at = words.firstIndex(of: "let"), at + 1 < words.count { return String(words[at + 1]) }
        }
        return code.rawValue
    }
}

import Checks
import Diagnosis
import NodeFiles
import TestSupport
import Testing

/// One definition per finding code: the catalogue names the file whose check raises each path
/// code, and no other source file builds that code's finding.
@Suite("each path code is decided in one place, the one the catalogue names")
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

    @Test("the file the catalogue names is the only one that raises the code", arguments: Array(FindingCatalogue.decidedIn.keys.map(\.rawValue)).sorted())
    func decidedInOnePlace(code: String) throws {
        let finding = FindingCode(rawValue: code)
        let file = try #require(FindingCatalogue.decidedIn[finding])
        let name = Self.swiftName(of: finding)
        let raising = Self.sources.filter { $0.text.contains("Finding(.\(name),") || $0.text.contains("Finding(.\(name) ") }.map(\.path)
        #expect(raising == [file], "\(code) is raised in \(raising), the catalogue says \(file)")
        #expect(finding.entry != nil, "\(code) has no catalogue entry")
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

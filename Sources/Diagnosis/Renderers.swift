import ConfigFormats

/// The contract's JSON document: one object on stdout, nothing else.
public enum JSONReportRenderer {
    /// Indented for a person at a terminal, compact for a program reading a pipe.
    public static func render(_ report: some Report, pretty: Bool = true) -> String {
        String(decoding: bytes(report, pretty: pretty), as: UTF8.self)
    }

    public static func bytes(_ report: some Report, pretty: Bool = true) -> [UInt8] {
        var out = JSONWriter.bytes(report.json, pretty: pretty)
        out.append(0x0A)
        return out
    }

    /// The document in pieces as it is written (see JSONWriter.write(_:pretty:trailer:deliver:)).
    @discardableResult
    public static func write(_ report: some Report, pretty: Bool = true, deliver: @escaping ([UInt8]) -> Bool) -> Bool {
        JSONWriter.write(report.json, pretty: pretty, trailer: [0x0A], deliver: deliver)
    }
}

/// The human report: the command's facts, then each finding with its evidence and remedy,
/// then a one-line summary. Every piece of text is one line: control characters in it (from node
/// files, pod names, runtime answers) are escaped here, the one place all human output passes;
/// only this style's own colour codes are kept.
public enum HumanReportRenderer {
    public static func render(_ report: some Report, style: TextStyle) -> String {
        var out = ""
        let safe = { (text: String) in Printable.escaping(text, keeping: style.codes) }
        for section in report.humanSections(style: style) {
            out += style.bold(safe(section.title)) + "\n"
            let width = min(24, section.rows.map(\.label.count).max() ?? 0)
            for row in section.rows {
                out += "  " + style.dim(safe(row.label).padding(toLength: width)) + "  " + safe(row.value) + "\n"
            }
            out += "\n"
        }
        let findings = report.sortedFindings
        if !findings.isEmpty {
            out += style.bold("Findings") + "\n"
            for finding in findings {
                out += render(finding, style: style)
            }
            out += "\n"
        }
        out += summary(findings, style: style) + "\n"
        return out
    }

    public static func render(_ finding: Finding, style: TextStyle) -> String {
        let mark: String
        switch finding.severity {
        case .error: mark = style.red("✘ error  ")
        case .warning: mark = style.yellow("! warning")
        case .info: mark = style.cyan("i info   ")
        }
        var out = "  \(mark) \(style.bold(Printable.line(finding.code.rawValue)))  \(Printable.line(finding.message))\n"
        if let hop = finding.hop { out += "      " + style.dim("where: ") + Printable.line(hop) + "\n" }
        for line in finding.evidence { out += "      " + style.dim("seen:  ") + Printable.line(line) + "\n" }
        if let remedy = finding.remedy { out += "      " + style.dim("fix:   ") + Printable.line(remedy) + "\n" }
        return out
    }

    static func summary(_ findings: [Finding], style: TextStyle) -> String {
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.filter { $0.severity == .warning }.count
        let notes = findings.filter { $0.severity == .info }.count
        if errors == 0 && warnings == 0 {
            return style.green("✔ no problems found") + (notes > 0 ? " (\(plural(notes, "note")))" : "")
        }
        let text = [
            errors > 0 ? plural(errors, "error") : nil, warnings > 0 ? plural(warnings, "warning") : nil,
            notes > 0 ? plural(notes, "note") : nil,
        ].compactMap { $0 }.joined(separator: ", ")
        return errors > 0 ? style.red("✘ " + text) : style.yellow("! " + text)
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
}

extension String {
    /// Spaces on the right up to `length` characters (Foundation's padding bridges through
    /// NSString: measurable at every start when a command's help text uses it).
    public func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}

/// A systemd `EnvironmentFile=` (such as kubeadm-flags.env or /etc/default/kubelet), read as
/// systemd reads it: `KEY=VALUE` lines, `#`/`;` comments, optional quotes, `\` continuations.
public struct EnvironmentFile: Sendable, Equatable {
    public struct Assignment: Sendable, Equatable {
        public var key: String
        public var value: String
        public var line: Int
        /// Whether the value was quoted. An unquoted value with spaces works for systemd but not
        /// when a shell sources the file.
        public var quoted: Bool
    }

    public var assignments: [Assignment]
    /// Lines systemd would ignore with a warning (neither a comment nor an assignment).
    public var ignoredLines: [(line: Int, text: String)]

    public subscript(key: String) -> String? {
        assignments.last(where: { $0.key == key })?.value
    }

    public static func == (a: EnvironmentFile, b: EnvironmentFile) -> Bool {
        a.assignments == b.assignments && a.ignoredLines.map(\.line) == b.ignoredLines.map(\.line)
    }

    public static func parse(_ text: String) -> EnvironmentFile {
        var file = EnvironmentFile(assignments: [], ignoredLines: [])
        for (number, raw) in LogicalLines.split(text) {
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                file.ignoredLines.append((number, line))
                continue
            }
            var key = String(line[..<eq]).trimmingSpaces()
            if key.hasPrefix("export ") { key = String(key.dropFirst(7)).trimmingSpaces() }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                file.ignoredLines.append((number, line))
                continue
            }
            var value = String(line[line.index(after: eq)...]).trimmingSpaces()
            var quoted = false
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
                quoted = true
            }
            file.assignments.append(.init(key: key, value: value, line: number, quoted: quoted))
        }
        return file
    }
}

/// Lines joined across trailing backslashes, each with the number of its first physical line.
enum LogicalLines {
    static func split(_ text: String) -> [(Int, String)] {
        var result: [(Int, String)] = []
        var pending: String? = nil
        var pendingLine = 0
        var number = 0
        for physical in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = String(physical)
            if line.hasSuffix("\r") { line.removeLast() }
            let continues = line.hasSuffix("\\")
            if continues { line.removeLast() }
            if pending == nil { pendingLine = number }
            pending = (pending.map { $0 + " " } ?? "") + line
            if !continues {
                result.append((pendingLine, pending!))
                pending = nil
            }
        }
        if let pending { result.append((pendingLine, pending)) }
        return result
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and carriage returns.
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

/// A systemd unit or drop-in file: sections of `Key=Value` directives in order, with the line
/// each came from. Lines systemd would ignore with a warning are kept apart, since a wrapped
/// comment without `#` is a classic copy-paste accident in kubelet drop-ins.
public struct SystemdUnit: Sendable {
    public struct Directive: Sendable, Equatable {
        public var section: String
        public var key: String
        public var value: String
        public var line: Int
    }

    public var directives: [Directive]
    public var ignoredLines: [(line: Int, text: String)]

    public func values(_ key: String, section: String = "Service") -> [Directive] {
        directives.filter { $0.section == section && $0.key == key }
    }

    public static func parse(_ text: String) -> SystemdUnit {
        var unit = SystemdUnit(directives: [], ignoredLines: [])
        var section = ""
        for (number, raw) in LogicalLines.split(text) {
            let line = raw.trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let eq = line.firstIndex(of: "="), !line[..<eq].trimmingSpaces().isEmpty,
                !line[..<eq].contains(" ") || line[..<eq].trimmingSpaces().split(separator: " ").count == 1
            else {
                unit.ignoredLines.append((number, line))
                continue
            }
            unit.directives.append(
                .init(
                    section: section, key: String(line[..<eq]).trimmingSpaces(),
                    value: String(line[line.index(after: eq)...]).trimmingSpaces(),
                    line: number))
        }
        return unit
    }

    /// The words of an `Environment=` value: `"A=b c" D=e` gives `A=b c` and `D=e`.
    public static func environmentAssignments(_ value: String) -> [(key: String, value: String)] {
        ShellWords.split(value).compactMap { word in
            guard let eq = word.firstIndex(of: "=") else { return nil }
            return (String(word[..<eq]), String(word[word.index(after: eq)...]))
        }
    }
}

/// Word splitting with single and double quotes and backslash escapes, as systemd splits
/// `ExecStart=` and a shell splits a flags variable.
public enum ShellWords {
    public static func split(_ text: String) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character? = nil
        var escaped = false
        for ch in text {
            if escaped {
                word.append(ch)
                escaped = false
                continue
            }
            if ch == "\\" && quote != "'" {
                escaped = true
                inWord = true
                continue
            }
            if let q = quote {
                if ch == q { quote = nil } else { word.append(ch) }
                continue
            }
            if ch == "\"" || ch == "'" {
                quote = ch
                inWord = true
                continue
            }
            if ch == " " || ch == "\t" || ch == "\n" {
                if inWord { words.append(word); word = ""; inWord = false }
                continue
            }
            word.append(ch)
            inWord = true
        }
        if inWord { words.append(word) }
        return words
    }

    /// Replaces `$NAME` and `${NAME}` with values from `variables`; unknown names become empty,
    /// as systemd does. `$$` stays a literal `$`.
    public static func expand(_ text: String, variables: [String: String]) -> String {
        var out = ""
        var chars = Array(text)[...]
        while let ch = chars.popFirst() {
            guard ch == "$", let next = chars.first else { out.append(ch); continue }
            if next == "$" { chars.removeFirst(); out.append("$"); continue }
            var name = ""
            if next == "{" {
                chars.removeFirst()
                while let c = chars.popFirst(), c != "}" { name.append(c) }
            } else {
                while let c = chars.first, c.isLetter || c.isNumber || c == "_" { name.append(c); chars.removeFirst() }
                if name.isEmpty { out.append("$"); continue }
            }
            out += variables[name] ?? ""
        }
        return out
    }
}

/// Command-line flags as the kubelet's flag parser reads them: `--name=value`, or `--name value`
/// when the next word is not itself a flag; a lone `--name` is `true`.
public struct CommandLineFlags: Sendable, Equatable {
    public struct Flag: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public var flags: [Flag]

    public subscript(name: String) -> String? {
        flags.last(where: { $0.name == name })?.value
    }

    public init(flags: [Flag] = []) { self.flags = flags }

    public init(words: [String]) {
        var flags: [Flag] = []
        var i = 0
        while i < words.count {
            let word = words[i]
            i += 1
            guard word.hasPrefix("-"), word.count > 1 else { continue }
            let body = word.drop(while: { $0 == "-" })
            if let eq = body.firstIndex(of: "=") {
                flags.append(Flag(name: "--" + body[..<eq], value: String(body[body.index(after: eq)...])))
            } else if i < words.count, !words[i].hasPrefix("-") {
                flags.append(Flag(name: "--" + body, value: words[i]))
                i += 1
            } else {
                flags.append(Flag(name: "--" + body, value: "true"))
            }
        }
        self.flags = flags
    }
}

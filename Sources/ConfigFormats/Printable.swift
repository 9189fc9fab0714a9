/// Text from outside (node files, pod names, runtime and agent answers) made safe to print:
/// control characters (C0, DEL, C1: ESC, BEL, newlines, carriage returns) become visible escapes,
/// so nothing read can clear a terminal, set its title, or forge a line of output.
public enum Printable {
    /// One line: every control character escaped, at most `limit` characters kept.
    public static func line(_ text: String, limit: Int = 4096) -> String {
        escaping(text, keeping: [], limit: limit)
    }

    /// Escapes control characters, except the exact sequences in `keeping` (the renderer's own
    /// colour codes, when colour is on).
    public static func escaping(_ text: String, keeping: [String], limit: Int = .max) -> String {
        guard text.unicodeScalars.contains(where: isControl) || text.unicodeScalars.count > limit else { return text }
        var out = String.UnicodeScalarView()
        var rest = Substring(text)
        var count = 0
        while let scalar = rest.unicodeScalars.first, count < limit {
            if scalar == "\u{1B}", let kept = keeping.first(where: { rest.hasPrefix($0) }) {
                out.append(contentsOf: kept.unicodeScalars)
                rest = rest.dropFirst(kept.count)
                continue
            }
            if isControl(scalar) {
                let escaped: String =
                    switch scalar {
                    case "\n": "\\n"
                    case "\r": "\\r"
                    case "\t": "\\t"
                    default: "\\u{\(String(scalar.value, radix: 16))}"
                    }
                out.append(contentsOf: escaped.unicodeScalars)
            } else {
                out.append(scalar)
            }
            rest = Substring(rest.unicodeScalars.dropFirst())
            count += 1
        }
        if !rest.isEmpty { out.append(contentsOf: "…".unicodeScalars) }
        return String(out)
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

extension String {
    /// The text without whitespace (newlines included) at either end, as node files are read.
    public func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

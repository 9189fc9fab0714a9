/// When a runtime config does not parse (an unrendered template, shell variables), its
/// `key = value` lines still say what the author meant; the report shows them as intent.
enum LenientTOML {
    /// The last value written for each of `keys`, unquoted, from lines of the form `key = value`.
    static func assignments(in text: String, keys: Set<String>) -> [String: String] {
        var found: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingSpacesAndTabs()
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]).trimmingCharacters()
            guard keys.contains(key) else { continue }
            var value = String(line[line.index(after: eq)...]).trimmingCharacters()
            if let hash = value.range(of: " #") { value = String(value[..<hash.lowerBound]) }
            if value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q {
                value = String(value.dropFirst().dropLast())
            }
            found[key] = value
        }
        return found
    }
}

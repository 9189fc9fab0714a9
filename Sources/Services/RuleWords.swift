/// An iptables-save rule split into words as the shell that iptables-restore mimics would:
/// `--comment "ns/svc:port cluster IP"` is two words, the quotes gone and `\"`, `\\` unescaped.
/// iptables quotes a comment only when it holds more than letters, digits, `_` and `-`
/// (xtables_save_string), so both forms occur; kube-proxy's golden outputs show them unquoted too.
struct RuleWords {
    let words: [Substring]

    init(_ specification: Substring) {
        var words: [Substring] = []
        var index = specification.startIndex
        let end = specification.endIndex
        while index < end {
            while index < end, specification[index] == " " { index = specification.index(after: index) }
            guard index < end else { break }
            if specification[index] == "\"" {
                var word = ""
                var escaped = false
                index = specification.index(after: index)
                while index < end {
                    let character = specification[index]
                    index = specification.index(after: index)
                    if escaped { word.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { break }
                    word.append(character)
                }
                words.append(Substring(word))
            } else {
                let start = index
                while index < end, specification[index] != " " { index = specification.index(after: index) }
                words.append(specification[start..<index])
            }
        }
        self.words = words
    }

    /// The word after `option`, unless the option is negated (`! -s 10.0.0.0/8`).
    func value(_ option: String) -> Substring? {
        var index = 0
        while index < words.count - 1 {
            if words[index] == option {
                return index > 0 && words[index - 1] == "!" ? nil : words[index + 1]
            }
            index += 1
        }
        return nil
    }

    /// `option` appears, negated or not.
    func has(_ option: String) -> Bool { words.contains { $0 == option } }

    /// `! option`: the rule matches what the option does not.
    func negates(_ option: String) -> Bool {
        guard let index = words.firstIndex(where: { $0 == option }) else { return false }
        return index > 0 && words[index - 1] == "!"
    }

    var target: Substring? { value("-j") ?? value("-g") }
    var comment: Substring? { value("--comment") }
}

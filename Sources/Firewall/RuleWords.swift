/// What a policy engine's rules say about themselves: their comments and where they jump, read
/// from a rule as iptables-save or nft prints it. Policy engines name their work only in
/// comments (chain names are hashed), so these are what attribution reads.
extension FirewallRule {
    /// Every comment on the rule: iptables' `-m comment --comment X` (quoted when it has spaces,
    /// with `\"` inside), nft's `comment "X"`.
    public var comments: [String] {
        let words = RuleWords.split(specification)
        // iptables' `-m comment` loads the match; its value follows `--comment`.
        let keyword = origin == .nftables ? "comment" : "--comment"
        var out: [String] = []
        for (i, word) in words.enumerated() where i + 1 < words.count && word == keyword {
            out.append(words[i + 1])
        }
        return out
    }

    /// The user chain the rule jumps or goes to (iptables `-j`/`-g`, nft `jump`/`goto`); nil for a
    /// verdict or a target extension (ACCEPT, DROP, MARK, NFLOG, …).
    public var jumpTarget: String? {
        let words = RuleWords.split(specification)
        for (i, word) in words.enumerated() where i + 1 < words.count {
            switch (origin, word) {
            case (.iptables, "-j"), (.iptables, "-g"):
                let target = words[i + 1]
                return RuleWords.iptablesTargets.contains(target) ? nil : target
            case (.nftables, "jump"), (.nftables, "goto"):
                return words[i + 1]
            default: continue
            }
        }
        return nil
    }

    /// The value after `option` (`-d` → "10.0.0.5/32"), iptables' words.
    public func argument(_ option: String) -> String? {
        let words = RuleWords.split(specification)
        guard let i = words.firstIndex(of: option), i + 1 < words.count, i == 0 || words[i - 1] != "!" else { return nil }
        return words[i + 1]
    }
}

enum RuleWords {
    /// iptables' built-in verdicts and the target extensions policy engines use: not chains.
    static let iptablesTargets: Set<String> = [
        "ACCEPT", "DROP", "REJECT", "RETURN", "MARK", "NFLOG", "LOG", "MASQUERADE", "SNAT", "DNAT",
        "CONNMARK", "NOTRACK", "CT", "TRACE", "QUEUE", "NFQUEUE", "AUDIT", "CHECKSUM",
    ]

    /// Words as a shell would split them: double quotes group, a backslash escapes the next
    /// character (iptables-save writes `"a \"b\""`).
    static func split(_ text: String) -> [String] {
        var words: [String] = []
        var current: [UInt8] = []
        var quoted = false, escaped = false, inWord = false
        for byte in text.utf8 {
            if escaped {
                current.append(byte)
                escaped = false
                continue
            }
            switch byte {
            case UInt8(ascii: "\\"): escaped = true; inWord = true
            case UInt8(ascii: "\""): quoted.toggle(); inWord = true
            case UInt8(ascii: " ") where !quoted:
                if inWord { words.append(String(decoding: current, as: UTF8.self)) }
                current = []
                inWord = false
            default:
                current.append(byte)
                inWord = true
            }
        }
        if inWord { words.append(String(decoding: current, as: UTF8.self)) }
        return words
    }
}

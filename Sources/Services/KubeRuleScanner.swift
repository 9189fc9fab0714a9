/// One of kube-proxy's iptables rules, reduced to what the Service table needs.
struct KubeRule: Equatable {
    var target: String?
    /// Kept only where it names something (dispatch and filter chains); elsewhere `commented` says
    /// whether there was one (kube-proxy's large-cluster mode drops them).
    var comment: String?
    var commented = false
    /// `-d` (not negated), as written ("10.96.0.10/32").
    var destination: String?
    var proto: String?
    var destinationPort: UInt16?
    /// DNAT's `--to-destination`.
    var toDestination: String?
    var probability: Double?
    /// `-m recent --rcheck`: ClientIP affinity.
    var recentCheck = false
    var seconds: Int?
}

/// Reads kube-proxy's rules straight from iptables-save's bytes: only the nat and filter
/// tables' KUBE-* chains (and the built-in chains' jumps into KUBE-SERVICES), each rule's words
/// looked at once, no String made for what is not kept. A node of 5,000 Services has
/// tens of thousands of rules; building a generic rule and splitting it again cost more than
/// iptables-save itself.
enum KubeRuleScanner {
    struct Scanned {
        var nat: [String: [KubeRule]] = [:]
        /// Filter-table rules of KUBE-SERVICES and KUBE-EXTERNAL-SERVICES, in order.
        var filter: [(chain: String, rule: KubeRule)] = []
        /// Built-in nat chains that jump to KUBE-SERVICES.
        var hooked: Set<String> = []
        /// nat POSTROUTING jumps to KUBE-POSTROUTING.
        var postroutingHooked = false
        /// The tables whose rules can drop (filter, raw, mangle, security) as iptables-save wrote
        /// them: a trace's firewall snapshot without running iptables-save again.
        var droppingTables: [UInt8] = []
        /// The reader: "iptables-save", or nf_tables read directly.
        var readFrom = "iptables-save"
        /// Tables iptables-nft would not print ("# Table `nat' is incompatible, use 'nft' tool."):
        /// a rule in them was written by nft itself. Their rules are missing, not absent.
        var incompatible: [String] = []
    }

    static func scan(_ bytes: [UInt8]) -> Scanned {
        var stream = Stream()
        bytes.withUnsafeBufferPointer { stream.feed($0) }
        return stream.finish()
    }

    /// The scan over output as it arrives: whole lines are read at once, a line cut by the end of
    /// a chunk waits for the next.
    struct Stream {
        private var scanned = Scanned()
        private var table = Table.other
        private var words = WordBuffer()
        private var carry: [UInt8] = []
        /// Inside a table whose lines are kept for the firewall snapshot.
        private var keeping = false

        mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
            var start = 0
            if !carry.isEmpty {
                guard let end = chunk.firstIndex(of: newline) else { carry += chunk; return }
                carry += chunk[..<end]
                let line = carry
                carry.removeAll(keepingCapacity: true)
                line.withUnsafeBufferPointer { consume($0) }
                start = end + 1
            }
            while start < chunk.count {
                var end = start
                while end < chunk.count, chunk[end] != newline { end += 1 }
                if end == chunk.count {
                    carry += chunk[start...]
                    return
                }
                consume(UnsafeBufferPointer(rebasing: chunk[start..<end]))
                start = end + 1
            }
        }

        mutating func finish() -> Scanned {
            if !carry.isEmpty {
                let line = carry
                carry.removeAll()
                line.withUnsafeBufferPointer { consume($0) }
            }
            return scanned
        }

        private mutating func consume(_ line: UnsafeBufferPointer<UInt8>) {
            guard let first = line.first else { return }
            if first == UInt8(ascii: "#") {
                let text = String(decoding: line, as: UTF8.self)
                if text.hasPrefix("# Table `"), text.contains("' is incompatible"),
                    let name = text.dropFirst("# Table `".count).split(separator: "'").first
                {
                    scanned.incompatible.append(String(name))
                }
                return
            }
            if first == UInt8(ascii: "*") {
                table = line.elementsEqual("*nat".utf8) ? .nat : line.elementsEqual("*filter".utf8) ? .filter : .other
                keeping = table == .filter || ["*raw", "*mangle", "*security"].contains { line.elementsEqual($0.utf8) }
            }
            if keeping {
                scanned.droppingTables += line
                scanned.droppingTables.append(newline)
            }
            if first == UInt8(ascii: "*") { return }
            guard table != .other, first == UInt8(ascii: "[") || first == UInt8(ascii: "-") else { return }
            var at = 0
            if first == UInt8(ascii: "[") {
                while at < line.count, line[at] != UInt8(ascii: "]") { at += 1 }
                at += 1
                while at < line.count, line[at] == space { at += 1 }
            }
            guard line.count - at > 3, line[at] == UInt8(ascii: "-"), line[at + 1] == UInt8(ascii: "A"), line[at + 2] == space else {
                return
            }
            let chainStart = at + 3
            var chainEnd = chainStart
            while chainEnd < line.count, line[chainEnd] != space { chainEnd += 1 }
            let chain = UnsafeBufferPointer(rebasing: line[chainStart..<chainEnd])
            let kube = chain.starts(with: "KUBE-".utf8)
            let hook =
                table == .nat
                && (chain.elementsEqual("PREROUTING".utf8) || chain.elementsEqual("OUTPUT".utf8)
                    || chain.elementsEqual("POSTROUTING".utf8))
            guard kube || hook else { return }
            words.split(UnsafeBufferPointer(rebasing: line[chainEnd...]))
            // Per-endpoint and per-service chains' comments repeat what the dispatch rules say.
            let rule = words.rule(
                keepComment:
                    !(chain.starts(with: "KUBE-SEP-".utf8) || chain.starts(with: "KUBE-SVC-".utf8)
                    || chain.starts(with: "KUBE-SVL-".utf8) || chain.starts(with: "KUBE-EXT-".utf8)))
            let name = String(decoding: chain, as: UTF8.self)
            if hook {
                if rule.target == "KUBE-SERVICES" { scanned.hooked.insert(name) }
                if name == "POSTROUTING", rule.target == "KUBE-POSTROUTING" { scanned.postroutingHooked = true }
            } else if table == .nat {
                scanned.nat[name, default: []].append(rule)
            } else if name == "KUBE-SERVICES" || name == "KUBE-EXTERNAL-SERVICES" {
                scanned.filter.append((name, rule))
            }
        }
    }

    enum Table { case nat, filter, other }

    static let newline = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")

    /// A rule's words, unescaped into one reused buffer.
    struct WordBuffer {
        var text: [UInt8] = []
        var bounds: [Int] = []

        mutating func split(_ line: UnsafeBufferPointer<UInt8>) {
            text.removeAll(keepingCapacity: true)
            bounds.removeAll(keepingCapacity: true)
            let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
            var index = 0
            while index < line.count {
                while index < line.count, line[index] == space { index += 1 }
                guard index < line.count else { break }
                bounds.append(text.count)
                if line[index] == quote {
                    index += 1
                    var escaped = false
                    while index < line.count {
                        let byte = line[index]
                        index += 1
                        if escaped { text.append(byte); escaped = false; continue }
                        if byte == backslash { escaped = true; continue }
                        if byte == quote { break }
                        text.append(byte)
                    }
                } else {
                    while index < line.count, line[index] != space { text.append(line[index]); index += 1 }
                }
                bounds.append(text.count)
            }
        }

        var count: Int { bounds.count / 2 }
        func word(_ i: Int) -> ArraySlice<UInt8> { text[bounds[2 * i]..<bounds[2 * i + 1]] }
        func string(_ i: Int) -> String { String(decoding: word(i), as: UTF8.self) }

        /// One pass over the words: each option kube-proxy writes, its value taken as it goes.
        func rule(keepComment: Bool = true) -> KubeRule {
            var rule = KubeRule()
            var negated = false
            var i = 0
            while i < count {
                let word = word(i)
                if word.count == 1, word.first == UInt8(ascii: "!") { negated = true; i += 1; continue }
                let hasValue = i + 1 < count
                defer { negated = false }
                switch word.count {
                case 2 where word.first == UInt8(ascii: "-") && hasValue:
                    switch word.last {
                    case UInt8(ascii: "j"), UInt8(ascii: "g"): rule.target = string(i + 1); i += 1
                    case UInt8(ascii: "d") where !negated: rule.destination = string(i + 1); i += 1
                    case UInt8(ascii: "p") where !negated: rule.proto = string(i + 1); i += 1
                    default: break
                    }
                case 7 where hasValue && word.elementsEqual("--dport".utf8) && !negated:
                    rule.destinationPort = UInt16(string(i + 1)); i += 1
                case 9 where hasValue && word.elementsEqual("--comment".utf8):
                    rule.commented = true
                    if keepComment { rule.comment = string(i + 1) }
                    i += 1
                case 9 where hasValue && word.elementsEqual("--seconds".utf8):
                    rule.seconds = Int(string(i + 1)); i += 1
                case 8 where word.elementsEqual("--rcheck".utf8):
                    rule.recentCheck = true
                case 13 where hasValue && word.elementsEqual("--probability".utf8):
                    rule.probability = Double(string(i + 1)); i += 1
                case 16 where hasValue && word.elementsEqual("--to-destination".utf8):
                    rule.toDestination = string(i + 1); i += 1
                default:
                    break
                }
                i += 1
            }
            return rule
        }
    }
}

import CNetShims
import Netlink
import NetlinkCodec
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// kube-proxy's iptables rules read from nf_tables itself, where iptables-nft keeps them: the nat
/// and filter tables' rules dumped over nfnetlink and the options the Service table needs taken
/// from the expressions iptables-nft compiled them into. iptables-save does the same dump and then
/// prints every option of every rule; on a node of 5,000 Services that printing is most of its
/// half second, and reading its text again was most of ours.
///
/// Only what is understood is taken: a rule with an expression this reader does not know (a
/// newer iptables-nft compiling an option natively, a hand-made nft rule in iptables' tables)
/// makes the whole reading fall back to iptables-save, which prints whatever the kernel holds.
/// Read against iptables-nft 1.8.9's output (Tests/ServicesTests/Fixtures: the same rules read
/// both ways give the same table).
enum KubeRulesOverNetlink {
    /// The rules, or nil when iptables-save must read them: no nf_tables nat table (iptables-legacy,
    /// or no kube-proxy), legacy tables beside it, a rule not understood, or a ruleset that kept
    /// changing while it was read. In the calling thread's namespace, whose sockets are `sockets`:
    /// each exchange takes the socket alone, so a firewall read beside this one goes on meanwhile.
    static func read(_ sockets: NetlinkSockets) -> KubeRuleScanner.Scanned? {
        // Legacy tables beside nf_tables' (a node that switched backends): which holds kube-proxy's
        // rules is iptables-save's question (it warns and netdoctor then reads the legacy ones).
        if let legacy = ServiceReader.procText("/proc/thread-self/net/ip_tables_names"),
            legacy.split(separator: "\n").contains("nat")
        {
            return nil
        }
        let request = { (message: NetlinkMessage) in try? sockets.netfilter { try $0.request(message) } }
        let dump = { (message: NetlinkMessage) in try? sockets.netfilter { try $0.dump(message) } }
        for _ in 0..<3 {
            guard let before = request(NFTables.generationRequest).flatMap({ try? NFTables.generation($0) }) else { return nil }
            var collector = Collector()
            // Every table's chains of the family (a chain dump does not filter by table); no nat
            // table: not iptables-nft's (or nothing), and iptables-save says which.
            guard let chains = dump(NFTables.dump(NFTables.getChain, family: 2, table: "nat")) else { return nil }
            var natFound = false
            for message in chains {
                guard let chain = (try? NFTables.chain(message)) ?? nil, let table = Table(rawValue: chain.table) else { continue }
                natFound = natFound || table == .nat
                guard table.wanted(Array(chain.name.utf8)[...]) else { continue }
                // A chain gone since its listing moved the generation: the read is retried.
                guard let rules = dump(NFTables.dump(NFTables.getRule, family: 2, table: table.rawValue, chain: chain.name)),
                    collector.add(rules, table: table)
                else { return nil }
            }
            guard natFound else { return nil }
            guard let after = request(NFTables.generationRequest).flatMap({ try? NFTables.generation($0) }) else { return nil }
            if after == before { return collector.scanned }
        }
        return nil
    }

    /// The Service table's input from the two tables' NEWRULE messages, as KubeRuleScanner would
    /// have it from iptables-save; nil when a rule it keeps is not understood.
    static func scanned(nat: [NetlinkMessage], filter: [NetlinkMessage]) -> KubeRuleScanner.Scanned? {
        var collector = Collector()
        guard collector.add(nat, table: .nat), collector.add(filter, table: .filter) else { return nil }
        return collector.scanned
    }

    enum Table: String {
        case nat, filter

        var name: [UInt8] { Array(rawValue.utf8) }

        static let hooks = ["PREROUTING", "OUTPUT", "POSTROUTING"].map { Array($0.utf8) }
        static let filterChains = ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES"].map { Array($0.utf8) }

        /// The chains the table is read from: kube-proxy's, and the built-in ones that jump to them.
        func wanted(_ chain: ArraySlice<UInt8>) -> Bool {
            switch self {
            case .nat: chain.starts(with: "KUBE-".utf8) || Self.hooks.contains { chain.elementsEqual($0) }
            case .filter: Self.filterChains.contains { chain.elementsEqual($0) }
            }
        }
    }

    /// Rules kept as they are decoded, chain by chain or all at once.
    struct Collector {
        private var collected = KubeRuleScanner.Scanned()

        /// In iptables-save's order: a chain's rules in the chain's order, the filter table's
        /// chains by name (nf_tables lists them in the order they were made).
        var scanned: KubeRuleScanner.Scanned {
            var ordered = collected
            ordered.readFrom = "nf_tables over netlink (iptables-nft's tables nat and filter)"
            ordered.filter = ordered.filter.enumerated().sorted { ($0.element.chain, $0.offset) < ($1.element.chain, $1.offset) }.map(
                \.element)
            return ordered
        }

        /// false when a rule kept is not understood (or its message does not parse).
        mutating func add(_ messages: [NetlinkMessage], table: Table) -> Bool {
            for message in messages {
                let decoded: NFTables.Rule?
                // A dump may hold other tables' rules (nft's own listing fetches them all).
                let name = table.name
                do { decoded = try NFTables.rule(expressionsOf: message) { $0.elementsEqual(name) && table.wanted($1) } } catch {
                    return false
                }
                guard let nftRule = decoded else { continue }
                let chain = nftRule.chain
                // Per-endpoint and per-service chains' comments repeat what the dispatch rules say.
                let perEndpoint = ["KUBE-SEP-", "KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-"].contains { chain.hasPrefix($0) }
                guard let rule = kubeRule(nftRule, keepComment: table == .filter || !perEndpoint) else { return false }
                switch table {
                case .filter:
                    collected.filter.append((chain, rule))
                case .nat where chain.hasPrefix("KUBE-"):
                    collected.nat[chain, default: []].append(rule)
                case .nat:
                    if rule.target == "KUBE-SERVICES", chain != "POSTROUTING" { collected.hooked.insert(chain) }
                    if chain == "POSTROUTING", rule.target == "KUBE-POSTROUTING" { collected.postroutingHooked = true }
                }
            }
            return true
        }
    }

    /// What a register holds at a point of the rule.
    enum Load: Equatable {
        case meta(UInt32)
        case payload(base: UInt32, offset: UInt32, length: UInt32)
        case masked(base: UInt32, offset: UInt32, mask: ArraySlice<UInt8>)
        case maskedMeta(UInt32)
    }

    /// One rule's options, from iptables-nft 1.8's compilation of them: `-p` as a load of the
    /// layer-4 protocol (or, in older versions, the IP header's protocol byte) compared, `-d` as
    /// the IP header's destination (masked for a prefix) compared, `--dport` as the transport
    /// header's bytes 2–3 compared or an xt `tcp`/`udp`/`sctp` match, `-m comment`, `-m statistic`
    /// and `-m recent` as xt matches, `-j` as a verdict or an xt target (DNAT's range decoded).
    /// nil when an expression is not one of those or one iptables-save would print and this
    /// does not read.
    static func kubeRule(_ nftRule: NFTables.Rule, keepComment: Bool = true) -> KubeRule? {
        var rule = KubeRule()
        var loads: [(register: UInt32, load: Load)] = []
        func load(_ register: UInt32) -> Load? { loads.last { $0.register == register }?.load }
        if let comment = nftRule.comment {
            rule.commented = true
            if keepComment { rule.comment = comment }
        }
        for expression in nftRule.expressions {
            switch expression {
            case .meta(let key, let register):
                loads.append((register, .meta(key)))
            case .payload(let base, let offset, let length, let register):
                loads.append((register, .payload(base: base, offset: offset, length: length)))
            case .bitwise(let source, let destination, let mask, let xor):
                guard xor.allSatisfy({ $0 == 0 }), let loaded = load(source) else { return nil }
                switch loaded {
                case .payload(let base, let offset, _): loads.append((destination, .masked(base: base, offset: offset, mask: mask)))
                case .meta(let key): loads.append((destination, .maskedMeta(key)))
                default: return nil
                }
            case .compare(let register, let op, let data):
                guard let loaded = load(register), compare(loaded, op, data, into: &rule) else { return nil }
            case .verdict(let verdict):
                switch verdict.code {
                case NFTables.Verdict.jump, NFTables.Verdict.goto: rule.target = verdict.chain
                case NFTables.Verdict.drop: rule.target = "DROP"
                case NFTables.Verdict.accept: rule.target = "ACCEPT"
                case NFTables.Verdict.return: rule.target = "RETURN"
                default: return nil
                }
            case .counter:
                continue
            case .match(let name, let revision, let info):
                guard XtablesInfo.apply(match: name, revision: revision, info: info, to: &rule, keepComment: keepComment) else {
                    return nil
                }
            case .target(let name, let revision, let info):
                rule.target = name
                if name == "DNAT" {
                    guard let destination = XtablesInfo.natDestination(revision: revision, info: info) else { return nil }
                    rule.toDestination = destination
                }
            case .immediate, .other:
                return nil
            }
        }
        return rule
    }

    /// One comparison of a loaded value: true when it is understood (taken, or one the Service
    /// table does not need: sources, interfaces, marks, negations, ranges).
    static func compare(_ loaded: Load, _ op: NFTables.CompareOp, _ data: ArraySlice<UInt8>, into rule: inout KubeRule) -> Bool {
        let equal = op == .equal
        switch loaded {
        case .meta(NFTables.metaL4Proto), .payload(base: NFTables.networkHeader, offset: 9, length: 1):
            guard let number = data.first else { return false }
            if equal { rule.proto = protocolName(number) }
            return true
        case .payload(base: NFTables.networkHeader, offset: 16, let length) where length >= 1 && length <= 4 && data.count == Int(length):
            if equal { rule.destination = dottedQuad(data, prefix: Int(length) * 8) }
            return true
        case .masked(base: NFTables.networkHeader, offset: 16, let mask) where mask.count == 4 && data.count == 4:
            if equal { rule.destination = dottedQuad(data, prefix: mask.reduce(0) { $0 + $1.nonzeroBitCount }) }
            return true
        case .payload(base: NFTables.transportHeader, offset: 2, length: 2) where data.count == 2:
            // `--dport A:B` compiles to two comparisons (or a range): no single port, as in the text.
            if equal {
                rule.destinationPort = UInt16(data[data.startIndex]) << 8 | UInt16(data[data.startIndex + 1])
            } else {
                rule.destinationPort = nil
            }
            return true
        case .payload(base: NFTables.networkHeader, offset: 12, _), .masked(base: NFTables.networkHeader, offset: 12, _),
            .payload(base: NFTables.transportHeader, offset: 0, length: 2),
            .meta(NFTables.metaInputName), .meta(NFTables.metaOutputName), .meta(NFTables.metaMark), .maskedMeta(NFTables.metaMark):
            return true  // -s, --sport, -i, -o, -m mark: not part of the table
        default:
            return false
        }
    }

    static func protocolName(_ number: UInt8) -> String {
        switch number {
        case 6: "tcp"
        case 17: "udp"
        case 132: "sctp"
        case 1: "icmp"
        default: String(number)
        }
    }

    /// "10.96.0.10/32", "10.244.0.0/16": an address and its prefix as iptables-save writes `-d`.
    static func dottedQuad(_ bytes: some Collection<UInt8>, prefix: Int) -> String {
        "\(dottedQuad(bytes))/\(prefix)"
    }

    /// "10.96.0.10" (missing bytes are zeros: a prefix's comparison holds only its own).
    static func dottedQuad(_ bytes: some Collection<UInt8>) -> String {
        let padded = Array(bytes) + [UInt8](repeating: 0, count: max(0, 4 - bytes.count))
        return padded.prefix(4).map(String.init).joined(separator: ".")
    }
}

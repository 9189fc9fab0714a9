import CNetShims
import ConfigFormats
import Netlink
import NetlinkCodec
import NetSystem
import NodeFiles

/// Reads the rules of native nftables tables with their counters (`nft -j list ruleset`): what
/// iptables-save cannot show (kube-proxy's nftables mode, Cilium's or an operator's own tables).
/// The tables iptables-nft writes (ip/ip6 filter, nat, mangle, raw, security) are left to
/// iptables-save, which prints them in the words an operator knows. Only rules with a `counter`
/// statement count packets, so only they can be caught dropping the probe.
public enum NftablesReader {
    /// Native tables' rules, or nil when nft is not installed or fails. The tables are listed
    /// first and only native ones are read: iptables-nft's tables hold a CNI's per-pod chains,
    /// which iptables-save reads already, so a node of many pods costs no more here than one of two.
    /// `overNetlink`: the tables may be listed over nfnetlink instead of by running nft (when
    /// iptables-save read the rest; otherwise nft must run, so that "neither tool could read
    /// this namespace" stays what it means).
    public static func read(in sockets: NetlinkSockets, thread: NamespaceThread = .shared, overNetlink: Bool = true) -> [FirewallRule]? {
        guard tool != nil else { return nil }
        let nft = { (arguments: [String]) -> [UInt8]? in json(arguments, in: sockets.namespace, thread: thread).output }
        // nf_tables itself says which tables there are (one netlink dump, no process): a node
        // whose firewall is iptables' alone spawns no nft at all. `nft list tables` if it cannot.
        let native: [(family: String, name: String)]
        if overNetlink, let tables = tablesOverNetlink(sockets) {
            native = tables.filter { !isIptablesTable($0) }
        } else {
            guard let listed = nft(["list", "tables"]) else { return nil }
            native = nativeTables(json: listed)
        }
        var rules: [FirewallRule] = []
        for (family, table) in native {
            guard let output = nft(["list", "table", family, table]) else { return nil }
            rules += parse(json: output)
        }
        return rules
    }

    /// Where nft is installed, if it is.
    static var tool: String? {
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first(where: { NodeRoot("/").status($0)?.isExecutable == true })
    }

    /// `nft -j <arguments>` run in `namespace`: its JSON, or why there is none.
    public static func json(
        _ arguments: [String], in namespace: NetNamespace?, thread: NamespaceThread = .shared
    ) -> (output: [UInt8]?, problem: String?) {
        run(["-j"] + arguments, in: namespace, thread: thread)
    }

    /// nft with `arguments` (and `input` on stdin) run in `namespace`: its output, or why there is none.
    static func run(
        _ arguments: [String], input: [UInt8] = [], in namespace: NetNamespace?, thread: NamespaceThread = .shared
    )
        -> (output: [UInt8]?, problem: String?)
    {
        guard let tool else { return (nil, "nft is not installed") }
        let run = {
            ChildProcess.run(
                tool, arguments: arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], input: input,
                timeoutMilliseconds: 5000)
        }
        // A child process starts in the namespace of the thread that spawns it.
        let result = namespace.map { ns in try? thread.run(in: ns) { run() } } ?? run()
        guard let result else { return (nil, "nft could not be started in the namespace") }
        guard result.status == 0 else {
            let message =
                String(decoding: result.errorOutput.prefix(300), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            return (nil, "nft \(arguments.joined(separator: " ")) failed (status \(result.status))\(message.isEmpty ? "" : ": \(message)")")
        }
        return (result.output, nil)
    }

    /// Every table of the namespace: over nfnetlink, else from `nft -j list tables`; [] when
    /// neither can tell.
    public static func tables(in sockets: NetlinkSockets, thread: NamespaceThread = .shared) -> [(family: String, name: String)] {
        if let tables = tablesOverNetlink(sockets) { return tables }
        guard let listed = json(["list", "tables"], in: sockets.namespace, thread: thread).output,
            let items = (try? JSONParser.parse(bytes: listed))?["nftables"]?.array
        else { return [] }
        return items.compactMap { item in
            guard let table = item["table"], let family = table["family"]?.string, let name = table["name"]?.string else { return nil }
            return (family, name)
        }
    }

    /// The tables of `nft -j list tables` that iptables-save does not show.
    public static func nativeTables(json: [UInt8]) -> [(family: String, name: String)] {
        guard let items = (try? JSONParser.parse(bytes: json))?["nftables"]?.array else { return [] }
        return items.compactMap { item in
            guard let table = item["table"], let family = table["family"]?.string, let name = table["name"]?.string else { return nil }
            // nft takes these as command-line words: a name that is not one plain word is not asked for.
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
            return isIptablesTable((family, name)) ? nil : (family, name)
        }
    }

    /// The ip and ip6 tables iptables-nft writes: iptables-save shows them.
    static func isIptablesTable(_ table: (family: String, name: String)) -> Bool {
        ["ip", "ip6"].contains(table.family) && iptablesTables.contains(table.name)
    }

    /// Every table of the namespace, from an nfnetlink dump (NFT_MSG_GETTABLE); nil when the
    /// kernel could not be asked. Names that are not one plain word are left out (nft takes them
    /// as command-line words).
    static func tablesOverNetlink(_ sockets: NetlinkSockets) -> [(family: String, name: String)]? {
        guard let messages = try? sockets.netfilter({ try $0.dump(NFTables.dumpTables) }) else { return nil }
        return messages.compactMap { message in
            guard let table = try? NFTables.table(message), let family = NFTables.familyName(table.family),
                !table.name.isEmpty, table.name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { return nil }
            return (family, table.name)
        }
    }

    static let iptablesTables: Set<String> = ["filter", "nat", "mangle", "raw", "security"]

    /// The rules of `nft -j list ruleset` output that carry a counter; [] for anything unreadable.
    public static func parse(json: [UInt8]) -> [FirewallRule] {
        guard let items = (try? JSONParser.parse(bytes: json))?["nftables"]?.array else { return [] }
        return items.compactMap { item -> FirewallRule? in
            guard let rule = item["rule"], let family = rule["family"]?.string, let table = rule["table"]?.string,
                let chain = rule["chain"]?.string, let expressions = rule["expr"]?.array
            else { return nil }
            if ["ip", "ip6"].contains(family), iptablesTables.contains(table) { return nil }
            guard let counter = expressions.lazy.compactMap({ $0["counter"] }).first else { return nil }
            var words = expressions.compactMap(describe)
            // A policy engine names its rules only in comments (PolicyChains reads them).
            if let comment = rule["comment"]?.string { words.append("comment " + quoted(comment)) }
            return FirewallRule(
                table: "\(family) \(table)", chain: chain,
                specification: "handle \(rule["handle"]?.int ?? 0): " + words.joined(separator: " "),
                packets: UInt64(counter["packets"]?.int ?? 0), bytes: UInt64(counter["bytes"]?.int ?? 0),
                origin: .nftables)
        }
    }

    /// One expression in nft's own words, as far as a reader needs them; the verdict last.
    static func describe(_ expression: ConfigValue) -> String? {
        guard let member = expression.object?.members.first else { return nil }
        switch member.key {
        case "match":
            let op = member.value["op"]?.string ?? "=="
            let left = operand(member.value["left"])
            let right = operand(member.value["right"])
            return op == "==" || op == "in" ? "\(left) \(right)" : "\(left) \(op) \(right)"
        case "counter": return nil
        case "drop", "accept", "return", "continue": return member.key
        case "reject": return "reject"
        case "jump", "goto": return "\(member.key) \(member.value["target"]?.string ?? "?")"
        default: return member.key
        }
    }

    /// As nft quotes a comment: in double quotes, a quote inside escaped.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }

    static func operand(_ value: ConfigValue?) -> String {
        guard let value else { return "?" }
        if let text = value.string { return text }
        if case .number(_, let text) = value { return text }
        if let payload = value["payload"] { return "\(payload["protocol"]?.string ?? "?") \(payload["field"]?.string ?? "?")" }
        if let meta = value["meta"] { return "meta \(meta["key"]?.string ?? "?")" }
        if let prefix = value["prefix"] { return "\(operand(prefix["addr"]))/\(prefix["len"]?.int ?? 0)" }
        if let set = value["set"]?.array { return "{ " + set.map { operand($0) }.joined(separator: ", ") + " }" }
        if let range = value["range"]?.array, range.count == 2 { return "\(operand(range[0]))-\(operand(range[1]))" }
        return "…"
    }
}

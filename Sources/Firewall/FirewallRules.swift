import CNetShims
import Dispatch
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import NodeFiles

/// One firewall rule (or a chain's policy) with its packet counter, from iptables-save or nft.
public struct FirewallRule: Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        /// A rule as iptables-save writes it.
        case iptables
        /// A built-in chain's policy (`:FORWARD DROP [p:b]`): packets no rule decided on.
        case iptablesPolicy
        /// A rule of a native nftables table, from `nft -j list ruleset`.
        case nftables
    }

    /// "filter" for iptables; "inet filter" (family and name) for nftables.
    public var table: String
    public var chain: String
    /// iptables: the rule after the chain name ("-s 10.0.0.1/32 -j DROP") or the policy ("DROP");
    /// nftables: "handle N: " and the rule's expressions in nft's words.
    public var specification: String
    public var packets: UInt64
    public var bytes: UInt64
    public var origin: Origin = .iptables
    /// iptables (IPv4) or ip6tables (IPv6): which tool's rules these are; nftables rules carry
    /// their family in `table`.
    public var family: IPFamily = .ipv4

    public init(
        table: String, chain: String, specification: String, packets: UInt64, bytes: UInt64, origin: Origin = .iptables,
        family: IPFamily = .ipv4
    ) {
        self.table = table
        self.chain = chain
        self.specification = specification
        self.packets = packets
        self.bytes = bytes
        self.origin = origin
        self.family = family
    }

    /// The iptables tool of the rule's family.
    var tool: String { family == .ipv6 ? "ip6tables" : "iptables" }

    /// DROP or REJECT: the rule (or policy) ends a packet's way.
    public var drops: Bool {
        switch origin {
        case .iptables:
            specification.hasSuffix("-j DROP") || specification.containsBytes("-j DROP ") || specification.containsBytes("-j REJECT")
        case .iptablesPolicy: specification == "DROP"
        // The verdict comes last, before a comment if there is one.
        case .nftables:
            specification.hasSuffix(" drop") || specification.containsBytes(" drop comment \"") || specification.containsBytes(" reject")
        }
    }

    /// The rule in the words of the tool that shows it.
    public var text: String {
        switch origin {
        case .iptables: "\(family == .ipv6 ? "ip6tables " : "")-t \(table) -A \(chain) \(specification)"
        case .iptablesPolicy: "\(family == .ipv6 ? "ip6tables " : "")-t \(table) -P \(chain) \(specification) (the chain's policy)"
        case .nftables: "nft table \(table) chain \(chain) \(specification)"
        }
    }
}

/// Reads a namespace's iptables rules with their packet counters. iptables-save (ip6tables-save
/// for IPv6) is the kernel's own reader (legacy or nf_tables flavour); running it changes nothing.
public enum FirewallReader {
    /// Rules of every table of a family, or nil when its save tool is not installed or fails.
    /// `dropping`: only the tables whose rules can drop a packet (filter, and raw, mangle and
    /// security where they exist): the nat table cannot, and on a node of many Services or pods
    /// it holds nearly all the rules (kube-proxy's, the bridge plugin's per-pod chains).
    public static func read(
        in namespace: NetlinkSockets, thread: NamespaceThread = .shared, dropping: Bool = false,
        family: IPFamily = .ipv4
    ) -> [FirewallRule]? {
        guard let tool = saveTool(family) else { return nil }
        let run = { (arguments: [String]) in
            ChildProcess.run(
                tool, arguments: arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 5000,
                outputLimit: 256 << 20)
        }
        let save = { () -> [FirewallRule]? in
            guard dropping else {
                guard let result = run(["-c"]), result.status == 0 else { return nil }
                return parse(bytes: result.output, family: family)
            }
            var output: [UInt8] = []
            for table in droppingTables(family, namespace) {
                // An absent table prints as empty built-in chains, or fails: either way no rule.
                guard let result = run(["-c", "-t", table]) else { return nil }
                if result.status == 0 { output += result.output } else if table == "filter" { return nil }
            }
            return parse(bytes: output, family: family)
        }
        let work = { () -> [FirewallRule]? in
            // Read before in this process, and the ruleset unchanged since: counters over nfnetlink.
            let key = NetNamespace.identity(of: "/proc/thread-self/ns/net").map { SnapshotCache.Key(namespace: $0, family: family) }
            if dropping, let key, let snapshot = SnapshotCache.shared[key],
                let rules = IptablesCounters.refresh(snapshot, family: family, on: namespace)
            {
                return rules
            }
            let generation = dropping ? IptablesCounters.generation(namespace) : nil
            let rules = save()
            if let rules, let key, let generation, IptablesCounters.generation(namespace) == generation {
                SnapshotCache.shared[key] = IptablesCounters.Snapshot(generation: generation, rules: rules)
            }
            return rules
        }
        // A child process starts in the namespace of the thread that spawns it.
        return namespace.namespace.map { ns in (try? thread.run(in: ns) { work() }) ?? nil } ?? work()
    }

    /// Seeds the snapshot of the calling thread's namespace with rules read by someone else's
    /// iptables-save (the Service table's), taken at `generation`: the next read there is a
    /// counter refresh.
    public static func remember(_ rules: [FirewallRule], generation: UInt32) {
        guard let identity = NetNamespace.identity(of: "/proc/thread-self/ns/net") else { return }
        SnapshotCache.shared[SnapshotCache.Key(namespace: identity, family: .ipv4)] = IptablesCounters.Snapshot(
            generation: generation, rules: rules)
    }

    /// The ruleset's generation in the sockets' namespace (nil without nf_tables): taken before a
    /// read, it dates the snapshot `remember` keeps.
    public static func generation(_ sockets: NetlinkSockets) -> UInt32? { IptablesCounters.generation(sockets) }

    /// Where iptables-save is installed, if it is.
    public static var iptablesSave: String? { saveTool(.ipv4) }

    /// Where the family's save tool (iptables-save, ip6tables-save) is installed, if it is.
    public static func saveTool(_ family: IPFamily) -> String? {
        let name = family == .ipv6 ? "ip6tables-save" : "iptables-save"
        return ["/usr/sbin/", "/sbin/", "/usr/bin/"].map { $0 + name }.first { NodeRoot("/").status($0)?.isExecutable == true }
    }

    /// Whether the calling thread's namespace (the sockets') has an iptables table of a family
    /// (iptables-nft's in nf_tables, or a legacy one): an IPv4-only node has no ip6 nat table, and
    /// its ip6tables-save need not run.
    public static func tableExists(_ name: String, family: IPFamily, sockets: NetlinkSockets) -> Bool {
        presentTables(family, sockets).contains(name)
    }

    /// `sockets`: of the calling thread's namespace (the legacy tables are read from its procfs).
    static func presentTables(_ family: IPFamily, _ sockets: NetlinkSockets) -> Set<String> {
        var present: Set<String> = []
        if let messages = try? sockets.netfilter({ try $0.dump(NFTables.dumpTables) }) {
            for message in messages {
                if let table = try? NFTables.table(message), table.family == IptablesCounters.netfilterFamily(family) {
                    present.insert(table.name)
                }
            }
        }
        if let legacy = Sysctl.readFile("/proc/thread-self/net/\(family == .ipv6 ? "ip6" : "ip")_tables_names") {
            for name in legacy.split(separator: "\n") { present.insert(String(name)) }
        }
        return present
    }

    /// filter, and the other tables that can drop where the namespace has them: nf_tables lists
    /// iptables-nft's (family ip or ip6), /proc/thread-self/net/ip(6)_tables_names the legacy
    /// ones (both the calling thread's namespace).
    static func droppingTables(_ family: IPFamily, _ sockets: NetlinkSockets) -> [String] {
        let present = presentTables(family, sockets)
        return ["filter"] + ["raw", "mangle", "security"].filter(present.contains)
    }

    /// iptables-save's rules and policies and native nftables rules of one namespace, or nil when
    /// neither tool can tell. `dropping`: as for `read`.
    public static func readEverything(
        in namespace: NetlinkSockets, thread: NamespaceThread = .shared, dropping: Bool = false,
        family: IPFamily = .ipv4
    ) -> [FirewallRule]? {
        let iptables = read(in: namespace, thread: thread, dropping: dropping, family: family)
        let nftables = NftablesReader.read(in: namespace, thread: thread, overNetlink: iptables != nil)
        return iptables == nil && nftables == nil ? nil : (iptables ?? []) + (nftables ?? [])
    }

    /// The rules of several namespaces at once: iptables-save's, and those of
    /// native nftables tables. Each iptables-save takes tens
    /// of milliseconds, mostly process start; run side by side, a path of five namespaces costs
    /// about one. Each namespace gets a worker thread to spawn from, so none waits on another.
    public static func readAll(in namespaces: [NetlinkSockets], family: IPFamily = .ipv4) -> [[FirewallRule]?] {
        // Each worker writes its own slot of the buffer, and concurrentPerform returns only when
        // all are done: no two writers share memory.
        let slots = UnsafeMutableBufferPointer<[FirewallRule]?>.allocate(capacity: namespaces.count)
        slots.initialize(repeating: nil)
        defer { slots.deallocate() }
        nonisolated(unsafe) let output = slots
        DispatchQueue.concurrentPerform(iterations: namespaces.count) { index in
            // The Dispatch worker only waits: the setns happens on the NamespaceThread.
            output[index] = readEverything(in: namespaces[index], thread: .worker(index), dropping: true, family: family)
        }
        return Array(slots)
    }

    /// The rules again after a probe, only where a rule or policy could have dropped it: a
    /// namespace whose rules drop nothing (most pods; a node whose CNI adds only NAT chains) cannot
    /// show a drop, and its snapshot stands. An unreadable one stays empty.
    public static func readAgain(_ before: [[FirewallRule]?], in namespaces: [NetlinkSockets], family: IPFamily = .ipv4) -> [[FirewallRule]]
    {
        let dropping = before.indices.filter { before[$0]?.contains(where: \.drops) == true }
        let again = readAll(in: dropping.map { namespaces[$0] }, family: family)
        var after = before.map { $0 ?? [] }
        for (slot, index) in dropping.enumerated() { after[index] = again[slot] ?? [] }
        return after
    }

    /// `*filter`, `:CHAIN POLICY [p:b]`, `[p:b] -A CHAIN spec` (or `-A CHAIN spec`, without -c).
    public static func parse(_ text: String, family: IPFamily = .ipv4) -> [FirewallRule] { parse(bytes: Array(text.utf8), family: family) }

    /// The same over iptables-save's bytes, a line at a time without building a String per line:
    /// a node of many Services has tens of thousands of rules, a node of many pods hundreds.
    public static func parse(bytes: [UInt8], family: IPFamily = .ipv4) -> [FirewallRule] {
        var rules: [FirewallRule] = []
        var table = ""
        bytes.withUnsafeBufferPointer { text in
            var lineStart = 0
            while lineStart < text.count {
                var lineEnd = lineStart
                while lineEnd < text.count, text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let line = UnsafeBufferPointer(rebasing: text[lineStart..<lineEnd])
                lineStart = lineEnd + 1
                guard let first = line.first else { continue }
                switch first {
                case UInt8(ascii: "*"):
                    table = string(line, 1, line.count)
                case UInt8(ascii: ":"):
                    if var policy = policy(line, table: table) {
                        policy.family = family
                        rules.append(policy)
                    }
                case UInt8(ascii: "["), UInt8(ascii: "-"):
                    if var rule = rule(line, table: table) {
                        rule.family = family
                        rules.append(rule)
                    }
                default:
                    continue
                }
            }
        }
        return rules
    }

    /// ":FORWARD DROP [12:960]": a built-in chain's policy and what it decided ("-" for a user chain).
    private static func policy(_ line: UnsafeBufferPointer<UInt8>, table: String) -> FirewallRule? {
        let parts = line[1...].split(separator: UInt8(ascii: " "))
        guard parts.count == 3, !(parts[1].count == 1 && parts[1].first == UInt8(ascii: "-")), parts[2].first == UInt8(ascii: "["),
            let counters = counters(parts[2].dropFirst().dropLast())
        else { return nil }
        return FirewallRule(
            table: table, chain: String(decoding: parts[0], as: UTF8.self), specification: String(decoding: parts[1], as: UTF8.self),
            packets: counters.packets, bytes: counters.bytes, origin: .iptablesPolicy)
    }

    /// "[p:b] -A CHAIN spec", or "-A CHAIN spec" without counters (kube-proxy's restore input).
    private static func rule(_ line: UnsafeBufferPointer<UInt8>, table: String) -> FirewallRule? {
        var at = 0
        var packets: UInt64 = 0, bytes: UInt64 = 0
        if line[0] == UInt8(ascii: "[") {
            guard let close = line.firstIndex(of: UInt8(ascii: "]")), let parsed = counters(line[1..<close]) else { return nil }
            (packets, bytes) = parsed
            at = close + 1
            while at < line.count, line[at] == UInt8(ascii: " ") { at += 1 }
        }
        guard line.count - at > 3, line[at] == UInt8(ascii: "-"), line[at + 1] == UInt8(ascii: "A"), line[at + 2] == UInt8(ascii: " ")
        else { return nil }
        let chainStart = at + 3
        var chainEnd = chainStart
        while chainEnd < line.count, line[chainEnd] != UInt8(ascii: " ") { chainEnd += 1 }
        var specificationStart = chainEnd
        while specificationStart < line.count, line[specificationStart] == UInt8(ascii: " ") { specificationStart += 1 }
        return FirewallRule(
            table: table, chain: string(line, chainStart, chainEnd),
            specification: string(line, specificationStart, line.count), packets: packets, bytes: bytes)
    }

    /// "p:b" → both numbers; nil when either is not one.
    private static func counters(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> (packets: UInt64, bytes: UInt64)? {
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")),
            let packets = number(text[text.startIndex..<colon]), let bytes = number(text[(colon + 1)...])
        else { return nil }
        return (packets, bytes)
    }

    private static func number(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            guard !overflowTimes, !overflowSum else { return nil }
            value = sum
        }
        return value
    }

    private static func string(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: line[start..<end]), as: UTF8.self)
    }

    /// Rules that drop ICMP "fragmentation needed" (type 3 code 4) or ICMPv6 "packet too big"
    /// (type 2): they break PMTU discovery, which IPv6 cannot do without (routers never fragment).
    public static func icmpTooBigDrops(_ rules: [FirewallRule]) -> [FirewallRule] {
        rules.filter { rule in
            let spec = rule.specification
            return rule.drops && spec.containsBytes("icmp")
                && (spec.containsBytes("fragmentation-needed") || spec.containsBytes("--icmp-type 3/4")
                    || spec.containsBytes("frag-needed")  // nft's word
                    || spec.containsBytes("packet-too-big") || spec.containsBytes("--icmpv6-type 2 ") || spec.hasSuffix("--icmpv6-type 2")
                    || spec.containsBytes("icmpv6 type 2 "))
        }
    }
}

extension String {
    /// A plain byte search. `String.contains(_: String)` goes through generic string processing,
    /// with runtime metadata lookups on every call: over a node's rules (the bridge plugin adds
    /// a NAT chain for every pod) it was the hottest path of a trace.
    public func containsBytes(_ needle: String) -> Bool {
        let found = utf8.withContiguousStorageIfAvailable { haystack in
            needle.utf8.withContiguousStorageIfAvailable { needle in Self.search(haystack, for: needle) }
        }
        return (found ?? nil) ?? Self.search(Array(utf8)[...], for: Array(needle.utf8)[...])
    }

    static func search<H: Collection<UInt8>, N: Collection<UInt8>>(_ haystack: H, for needle: N) -> Bool
    where H.Index == Int, N.Index == Int {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[needle.startIndex]
        for start in haystack.startIndex...(haystack.endIndex - needle.count) where haystack[start] == first {
            var matched = true
            for offset in 1..<needle.count where haystack[start + offset] != needle[needle.startIndex + offset] {
                matched = false
                break
            }
            if matched { return true }
        }
        return false
    }
}

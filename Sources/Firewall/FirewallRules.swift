import Dispatch
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

    public init(table: String, chain: String, specification: String, packets: UInt64, bytes: UInt64, origin: Origin = .iptables) {
        self.table = table
        self.chain = chain
        self.specification = specification
        self.packets = packets
        self.bytes = bytes
        self.origin = origin
    }

    /// DROP or REJECT: the rule (or policy) ends a packet's way.
    public var drops: Bool {
        switch origin {
        case .iptables:
            specification.hasSuffix("-j DROP") || specification.containsBytes("-j DROP ") || specification.containsBytes("-j REJECT")
        case .iptablesPolicy: specification == "DROP"
        case .nftables: specification.hasSuffix(" drop") || specification.containsBytes(" reject")
        }
    }

    /// The rule in the words of the tool that shows it.
    public var text: String {
        switch origin {
        case .iptables: "-t \(table) -A \(chain) \(specification)"
        case .iptablesPolicy: "-t \(table) -P \(chain) \(specification) (the chain's policy)"
        case .nftables: "nft table \(table) chain \(chain) \(specification)"
        }
    }
}

/// Reads a namespace's iptables rules with their packet counters. iptables-save is the kernel's
/// own reader (legacy or nf_tables flavour); running it changes nothing.
public enum FirewallReader {
    /// Rules of every table, or nil when iptables-save is not installed or fails.
    public static func read(in namespace: NetNamespace?, thread: NamespaceThread = .shared) -> [FirewallRule]? {
        guard let tool = ["/usr/sbin/iptables-save", "/sbin/iptables-save", "/usr/bin/iptables-save"]
            .first(where: { NodeRoot("/").status($0)?.isExecutable == true }) else { return nil }
        let run = { ChildProcess.run(tool, arguments: ["-c"], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 5000) }
        // A child process starts in the namespace of the thread that spawns it.
        let result = namespace.map { ns in try? thread.run(in: ns) { run() } } ?? run()
        guard let result, result.status == 0 else { return nil }
        return parse(result.outputText)
    }

    /// iptables-save's rules and policies and native nftables rules of one namespace, or nil when
    /// neither tool can tell.
    public static func readEverything(in namespace: NetNamespace?, thread: NamespaceThread = .shared) -> [FirewallRule]? {
        let iptables = read(in: namespace, thread: thread)
        let nftables = NftablesReader.read(in: namespace, thread: thread, overNetlink: iptables != nil)
        return iptables == nil && nftables == nil ? nil : (iptables ?? []) + (nftables ?? [])
    }

    /// The rules of several namespaces at once (nil: the caller's): iptables-save's, and those of
    /// native nftables tables. Each iptables-save takes tens
    /// of milliseconds, mostly process start; run side by side, a path of five namespaces costs
    /// about one. Each namespace gets a worker thread to spawn from, so none waits on another.
    public static func readAll(in namespaces: [NetNamespace?]) -> [[FirewallRule]?] {
        // Each worker writes its own slot of the buffer, and concurrentPerform returns only when
        // all are done: no two writers share memory.
        let slots = UnsafeMutableBufferPointer<[FirewallRule]?>.allocate(capacity: namespaces.count)
        slots.initialize(repeating: nil)
        defer { slots.deallocate() }
        nonisolated(unsafe) let output = slots
        DispatchQueue.concurrentPerform(iterations: namespaces.count) { index in
            // The Dispatch worker only waits: the setns happens on the NamespaceThread.
            output[index] = readEverything(in: namespaces[index], thread: .worker(index))
        }
        return Array(slots)
    }

    /// The rules again after a probe, only where a rule or policy could have dropped it: a
    /// namespace whose rules drop nothing (most pods; a node whose CNI adds only NAT chains) cannot
    /// show a drop, and its snapshot stands. An unreadable one stays empty.
    public static func readAgain(_ before: [[FirewallRule]?], in namespaces: [NetNamespace?]) -> [[FirewallRule]] {
        let dropping = before.indices.filter { before[$0]?.contains(where: \.drops) == true }
        let again = readAll(in: dropping.map { namespaces[$0] })
        var after = before.map { $0 ?? [] }
        for (slot, index) in dropping.enumerated() { after[index] = again[slot] ?? [] }
        return after
    }

    /// `*filter`, `:CHAIN POLICY [p:b]`, `[p:b] -A CHAIN spec`.
    public static func parse(_ text: String) -> [FirewallRule] {
        var rules: [FirewallRule] = []
        var table = ""
        for raw in text.split(separator: "\n") {
            let line = Substring(raw)
            if line.hasPrefix("*") { table = String(line.dropFirst()); continue }
            if line.hasPrefix(":") {
                // ":FORWARD DROP [12:960]": a built-in chain's policy and what it decided.
                let parts = line.dropFirst().split(separator: " ")
                if parts.count == 3, parts[1] != "-", parts[2].hasPrefix("[") {
                    let counters = parts[2].dropFirst().dropLast().split(separator: ":")
                    rules.append(FirewallRule(table: table, chain: String(parts[0]), specification: String(parts[1]),
                                              packets: counters.first.flatMap { UInt64($0) } ?? 0,
                                              bytes: counters.last.flatMap { UInt64($0) } ?? 0, origin: .iptablesPolicy))
                }
                continue
            }
            guard line.hasPrefix("[") , let close = line.firstIndex(of: "]") else { continue }
            let counters = line[line.index(after: line.startIndex)..<close].split(separator: ":")
            let rest = line[line.index(after: close)...].drop(while: { $0 == " " })
            guard rest.hasPrefix("-A "), counters.count == 2 else { continue }
            let afterA = rest.dropFirst(3)
            let chainEnd = afterA.firstIndex(of: " ") ?? afterA.endIndex
            rules.append(FirewallRule(table: table, chain: String(afterA[..<chainEnd]),
                                      specification: String(afterA[chainEnd...].drop(while: { $0 == " " })),
                                      packets: UInt64(counters[0]) ?? 0, bytes: UInt64(counters[1]) ?? 0))
        }
        return rules
    }

    /// Rules that drop ICMP "fragmentation needed" (type 3 code 4): they break PMTU discovery.
    public static func icmpTooBigDrops(_ rules: [FirewallRule]) -> [FirewallRule] {
        rules.filter { rule in
            rule.drops && rule.specification.containsBytes("icmp")
                && (rule.specification.containsBytes("fragmentation-needed") || rule.specification.containsBytes("--icmp-type 3/4")
                    || rule.specification.containsBytes("frag-needed"))  // nft's word
        }
    }
}

extension String {
    /// A plain byte search. `String.contains(_: String)` goes through generic string processing,
    /// with runtime metadata lookups on every call: over a node's rules (the bridge plugin adds
    /// a NAT chain for every pod) it was the hottest path of a trace.
    func containsBytes(_ needle: String) -> Bool {
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

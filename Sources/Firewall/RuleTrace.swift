import CNetShims
import Netlink
import NetlinkCodec
import NetSystem
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// What `trace --trace-rules` marks for tracing: the probe's request and nothing else.
public struct RuleTraceMatch: Sendable {
    public var source: String
    public var destination: String
    /// icmp, tcp or udp.
    public var proto: String
    public var port: UInt16?

    public init(source: String, destination: String, proto: String, port: UInt16?) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.port = port
    }

    /// The nft words that match it, in its family (an IPv6 probe: ip6 addresses, ICMPv6's echo).
    var words: String {
        let ipv6 = destination.contains(":")
        let l4 =
            switch proto {
            case "tcp", "udp": "\(proto) dport \(port ?? 0)"
            default: ipv6 ? "icmpv6 type echo-request" : "icmp type echo-request"
            }
        let ip = ipv6 ? "ip6" : "ip"
        return "\(ip) saddr \(source) \(ip) daddr \(destination) \(l4)"
    }
}

/// One rule (or chain policy, or return) the traced probe met, as nf_tables' trace named it.
public struct TracedRule: Sendable, Equatable {
    public var family: String
    public var table: String
    public var chain: String
    public var handle: UInt64?
    /// rule, policy or return.
    public var kind: String
    /// accept, drop, continue, return, jump CHAIN, goto CHAIN; nil where the event had none.
    public var verdict: String?
    /// The rule's comments (nft's, and iptables-nft's comment matches), read back by handle.
    public var comments: [String]
    /// The packet's trace ID: one per packet (a retransmission is another).
    public var packet: UInt32

    public var text: String {
        "\(family) \(table) \(chain)\(handle.map { " handle \($0)" } ?? "") \(kind)\(verdict.map { ": \($0)" } ?? "")"
            + (comments.isEmpty ? "" : "  " + comments.map { "\"\($0)\"" }.joined(separator: " "))
    }
}

/// Why rule tracing could not be done, in one plain sentence.
public struct RuleTraceError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// nftrace for one probe in one namespace: a table of netdoctor's own (`netdoctor-trace-PID-N`)
/// whose chains, on the prerouting and output hooks ahead of every other, set the nftrace bit on
/// the probe's request; a netlink socket on NFNLGRP_NFTRACE that hears every rule the packet
/// meets in every nf_tables table (iptables-nft's included; iptables-legacy's are not nf_tables);
/// then the table removed. Nothing else of the node is changed.
public final class RuleTrace: @unchecked Sendable {
    public let table: String
    let sockets: NetlinkSockets
    let thread: NamespaceThread
    let socket: NetlinkSocket
    private var removed = false

    static let counter = Atomic<Int>(0)
    /// The prefix of every table netdoctor adds; a leftover one names the process that made it.
    public static let tablePrefix = "netdoctor-trace-"
    /// The tracing table's family: inet, whose hooks see IPv4 and IPv6 alike.
    public static let tableFamily = "inet"

    /// Adds the table and starts listening. Fails, changing nothing, when nft is missing or the
    /// kernel or privileges refuse either step.
    public static func start(
        in sockets: NetlinkSockets, thread: NamespaceThread = .shared, match: RuleTraceMatch
    ) throws(RuleTraceError) -> RuleTrace {
        guard NftablesReader.tool != nil else { throw RuleTraceError("nft is not installed: --trace-rules adds its tracing rule with it") }
        let namespace = sockets.namespace
        removeLeftovers(in: sockets, thread: thread)
        let table = "\(tablePrefix)\(getpid())-\(counter.add(1, ordering: .relaxed).newValue)"
        // Listen first: the kernel builds trace events only while someone listens. A socket of its
        // own, not one of the handle's: it joins the trace group, and its queue is events, not replies.
        let socket: NetlinkSocket
        do {
            socket = try NetlinkSocket.open(in: namespace, thread: thread, protocol: NETLINK_NETFILTER)
            try socket.subscribe(group: NFTables.traceGroup)
        } catch {
            throw RuleTraceError("cannot listen for nf_tables traces: \(error)")
        }
        let script = """
            table \(tableFamily) \(table) {
              chain pre { type filter hook prerouting priority -350; policy accept; \(match.words) meta nftrace set 1; }
              chain out { type filter hook output priority -350; policy accept; \(match.words) meta nftrace set 1; }
            }

            """
        if let problem = runNft(["-f", "-"], input: script, in: namespace, thread: thread) {
            throw RuleTraceError("cannot add the tracing table: \(problem)")
        }
        return RuleTrace(table: table, sockets: sockets, thread: thread, socket: socket)
    }

    init(table: String, sockets: NetlinkSockets, thread: NamespaceThread, socket: NetlinkSocket) {
        self.table = table
        self.sockets = sockets
        self.thread = thread
        self.socket = socket
    }

    deinit { _ = remove() }

    /// The rules the probe met (events still queued are read, waiting `milliseconds` for the
    /// last), then the table removed. `problem`: why the table could not be removed, if so.
    public func finish(waitingMilliseconds milliseconds: Int32 = 50) -> (rules: [TracedRule], problem: String?) {
        let messages = (try? socket.events(waitingMilliseconds: milliseconds)) ?? []
        let problem = remove()
        let events = messages.compactMap { try? NFTables.traceEvent($0) }.filter { $0.table != table }
        return (resolve(events), problem)
    }

    /// Removes the table (once); nil when it is gone.
    @discardableResult
    public func remove() -> String? {
        guard !removed else { return nil }
        removed = true
        return Self.runNft(["delete", "table", Self.tableFamily, table], input: "", in: sockets.namespace, thread: thread)
    }

    /// A chain as a trace event names it.
    struct ChainKey: Hashable {
        var family: UInt8
        var table: String
        var chain: String
    }

    /// Trace events with each rule's comments, read back over netlink by handle (one rule dump
    /// per chain the packet met).
    func resolve(_ events: [NFTables.TraceEvent]) -> [TracedRule] {
        let key = { (event: NFTables.TraceEvent) in ChainKey(family: event.family, table: event.table, chain: event.chain) }
        var comments: [ChainKey: [UInt64: [String]]] = [:]
        for chain in Set(events.map(key)) {
            let request = NFTables.dump(NFTables.getRule, family: chain.family, table: chain.table, chain: chain.chain)
            guard let messages = try? sockets.netfilter({ try $0.dump(request) }) else { continue }
            var byHandle: [UInt64: [String]] = [:]
            for message in messages {
                if let rule = try? NFTables.rule(expressionsOf: message), let handle = rule.handle { byHandle[handle] = rule.comments }
            }
            comments[chain] = byHandle
        }
        return events.map { event in
            // A chain's end has no rule: the walk returns to the caller (or the base chain's policy decides).
            let kind =
                switch event.kind {
                case .policy: "policy"
                case .return: "return"
                case .rule, nil: event.handle == nil ? "end of chain" : "rule"
                }
            let verdict =
                event.kind == .policy ? event.policy.map { NFTables.Verdict(code: Int32(bitPattern: $0)).words } : event.verdict?.words
            return TracedRule(
                family: NFTables.familyName(event.family) ?? "family \(event.family)", table: event.table, chain: event.chain,
                handle: event.handle, kind: kind, verdict: verdict,
                comments: event.handle.flatMap { comments[key(event)]?[$0] } ?? [], packet: event.id)
        }
    }

    /// Tables an earlier netdoctor left (killed before it could remove them): their process is gone.
    static func removeLeftovers(in sockets: NetlinkSockets, thread: NamespaceThread) {
        let namespace = sockets.namespace
        // (ip: what netdoctor before IPv6 support added.)
        for (family, name) in NftablesReader.tables(in: sockets, thread: thread)
        where ["inet", "ip"].contains(family) && name.hasPrefix(tablePrefix) {
            let pid = name.dropFirst(tablePrefix.count).split(separator: "-").first.flatMap { Int32($0) }
            if let pid, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                _ = runNft(["delete", "table", family, name], input: "", in: namespace, thread: thread)
            }
        }
    }

    /// nft in the namespace; nil when it succeeded, else what it said.
    static func runNft(_ arguments: [String], input: String, in namespace: NetNamespace?, thread: NamespaceThread) -> String? {
        NftablesReader.run(arguments, input: Array(input.utf8), in: namespace, thread: thread).problem
    }
}

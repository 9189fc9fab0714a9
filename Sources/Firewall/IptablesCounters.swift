import CNetShims
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// iptables rules read once by iptables-save, their counters read again over nfnetlink.
///
/// iptables-nft keeps its rules in nf_tables, where each rule carries a counter expression in
/// chain order and each base chain its policy counters. iptables-save fetches the whole ruleset
/// to print one table (a node of 5,000 Services: half a second per read, twice per trace); a
/// dump of one table's rules over nfnetlink takes milliseconds. The counters are mapped back onto
/// the rules by chain and position, and only while the ruleset's generation is the one the
/// snapshot was taken at: any change to any table moves it, and then iptables-save runs again.
/// (iptables-legacy's tables are not in nf_tables: the mapping fails and iptables-save runs.)
enum IptablesCounters {
    struct Snapshot {
        var generation: UInt32
        var rules: [FirewallRule]
    }

    /// nf_tables' family of iptables-nft's tables: NFPROTO_IPV4 (2) or NFPROTO_IPV6 (10).
    static func netfilterFamily(_ family: IPFamily) -> UInt8 { family == .ipv6 ? 10 : 2 }

    /// The ruleset's generation in the sockets' namespace; nil without nf_tables.
    static func generation(_ sockets: NetlinkSockets) -> UInt32? {
        try? sockets.netfilter { generation(on: $0) }
    }

    static func generation(on socket: NetlinkSocket) -> UInt32? {
        (try? socket.request(NFTables.generationRequest)).flatMap { try? NFTables.generation($0) }
    }

    /// The snapshot's rules with their counters now; nil when the ruleset changed or the rules do
    /// not map onto nf_tables' (then iptables-save must run). In the sockets' namespace.
    static func refresh(_ snapshot: Snapshot, family: IPFamily = .ipv4, on sockets: NetlinkSockets) -> [FirewallRule]? {
        (try? sockets.netfilter { refresh(snapshot, family: family, socket: $0) }) ?? nil
    }

    private static func refresh(_ snapshot: Snapshot, family: IPFamily, socket: NetlinkSocket) -> [FirewallRule]? {
        let number = netfilterFamily(family)
        guard generation(on: socket) == snapshot.generation else { return nil }
        var rules = snapshot.rules
        let tables = Set(rules.filter { $0.origin != .nftables }.map(\.table))
        for table in tables {
            guard let chainMessages = try? socket.dump(NFTables.dump(NFTables.getChain, family: number, table: table)),
                let ruleMessages = try? socket.dump(NFTables.dump(NFTables.getRule, family: number, table: table))
            else { return nil }
            // A base chain without stats has no counters: iptables-save prints [0:0] for it too.
            var policies: [String: NFTables.Counter] = [:]
            for message in chainMessages {
                guard let chain = try? NFTables.chain(message) else { return nil }
                // The dump has the family's other tables' chains too (OUTPUT is in four of them).
                guard chain.table == table else { continue }
                policies[chain.name] = chain.counter ?? NFTables.Counter(packets: 0, bytes: 0)
            }
            // iptables-save prints a table nf_tables does not have (a pod's namespace, never
            // touched) as its built-in chains' ACCEPT policies at 0: nothing has counted since.
            if policies.isEmpty, ruleMessages.isEmpty,
                rules.allSatisfy({ $0.table != table || ($0.origin == .iptablesPolicy && $0.packets == 0 && $0.specification == "ACCEPT") })
            {
                continue
            }
            var counters: [String: [NFTables.Counter?]] = [:]
            for message in ruleMessages {
                guard let rule = try? NFTables.rule(message) else { return nil }
                counters[rule.chain, default: []].append(rule.counter)
            }
            var position: [String: Int] = [:]
            for index in rules.indices where rules[index].table == table {
                switch rules[index].origin {
                case .iptablesPolicy:
                    guard let counter = policies[rules[index].chain] else { return nil }
                    (rules[index].packets, rules[index].bytes) = (counter.packets, counter.bytes)
                case .iptables:
                    let chain = rules[index].chain
                    let at = position[chain, default: 0]
                    guard let list = counters[chain], at < list.count, let counter = list[at] else { return nil }
                    (rules[index].packets, rules[index].bytes) = (counter.packets, counter.bytes)
                    position[chain] = at + 1
                case .nftables:
                    continue
                }
            }
            // Every rule nf_tables has was in the snapshot, or it is not the same ruleset.
            for (chain, list) in counters where position[chain, default: 0] != list.count { return nil }
        }
        return rules
    }
}

/// Snapshots of this process's earlier reads, per namespace, for IptablesCounters. Bounded: a
/// long-running agent sees pods come and go, and a namespace gone never asks again.
final class SnapshotCache: Sendable {
    static let shared = SnapshotCache()
    static let limit = 64
    private let snapshots = Mutex<[Key: IptablesCounters.Snapshot]>([:])

    /// A namespace's iptables or ip6tables rules: two rulesets.
    struct Key: Hashable {
        var namespace: NetNamespace.Identity
        var family: IPFamily
    }

    subscript(identity: Key) -> IptablesCounters.Snapshot? {
        get { snapshots.withLock { $0[identity] } }
        set {
            snapshots.withLock { cache in
                // Full: start over (a snapshot costs one iptables-save to take again).
                if newValue != nil, cache[identity] == nil, cache.count >= Self.limit { cache.removeAll() }
                cache[identity] = newValue
            }
        }
    }
}

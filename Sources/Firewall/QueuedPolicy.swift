import ConfigFormats
import Netlink
import NetSystem

/// kube-network-policies (kubernetes-sigs): NetworkPolicy decided in userspace. Its nftables
/// table (`kube-network-policies`) sends the first packet of each new connection of the pods in
/// its sets (`podips-v4`/`podips-v6`: local pods some policy selects) to an NFQUEUE (100 by
/// default) on the postrouting hook; its process answers accept or drop. No rule counts a drop:
/// the evidence is the queue's own counters (/proc/net/netfilter/nfnetlink_queue: a queue
/// nobody listens on has no line; `id_sequence` counts every packet queued) and the sets.
public struct QueuedPolicy: Sendable, Equatable {
    /// `family name` of the table.
    public var table: String
    /// kube-network-policies (its table, or its rule comment), or another engine that queues.
    public var engine = "a userspace policy engine"
    /// The queue its rules send packets to, and whether a missing listener lets them pass
    /// (`bypass`, its FailOpen) or drops them.
    public var queue: UInt16
    public var bypass: Bool
    /// The pods whose new connections are queued (the sets' elements).
    public var podAddresses: [String]

    public static let tableName = "kube-network-policies"

    public init(table: String, engine: String = "a userspace policy engine", queue: UInt16, bypass: Bool, podAddresses: [String]) {
        self.table = table
        self.engine = engine
        self.queue = queue
        self.bypass = bypass
        self.podAddresses = podAddresses
    }

    /// The table as `nft -j list table FAMILY kube-network-policies` prints it; nil when it holds
    /// no queue rule.
    public static func parse(json: [UInt8], family: String) -> QueuedPolicy? {
        guard let items = (try? JSONParser.parse(bytes: json))?["nftables"]?.array else { return nil }
        var queue: UInt16?
        var bypass = false
        var addresses: [String] = []
        for item in items {
            if let set = item["set"], set["name"]?.string?.hasPrefix("podips-") == true {
                for element in set["elem"]?.array ?? [] {
                    if let address = element.string ?? element["elem"]?["val"]?.string { addresses.append(address) }
                }
            }
            for expression in item["rule"]?["expr"]?.array ?? [] {
                guard let statement = expression["queue"] else { continue }
                queue = statement["num"]?.int.flatMap { UInt16(exactly: $0) } ?? 0
                let flags = statement["flags"]?.string.map { [$0] } ?? statement["flags"]?.array?.compactMap(\.string) ?? []
                bypass = bypass || flags.contains("bypass")
            }
        }
        guard let queue else { return nil }
        return QueuedPolicy(table: "\(family) \(tableName)", engine: tableName, queue: queue, bypass: bypass, podAddresses: addresses)
    }

    /// iptables' NFQUEUE rules (`-j NFQUEUE --queue-num N [--queue-bypass]`), one per queue, the
    /// pods they name by `-s`/`-d`. Kernels without nft's `queue` expression (this project's CI
    /// machine) queue only this way; kube-network-policies' comment says whose they are.
    public static func fromIptables(_ rules: [FirewallRule]) -> [QueuedPolicy] {
        var byQueue: [UInt16: QueuedPolicy] = [:]  // one entry per queue number
        for rule in rules where rule.origin == .iptables && rule.specification.containsBytes("-j NFQUEUE") {
            let queue = rule.argument("--queue-num").flatMap { UInt16($0) } ?? 0
            var entry = byQueue[queue] ?? QueuedPolicy(table: rule.table, queue: queue, bypass: false, podAddresses: [])
            entry.bypass = entry.bypass || rule.specification.containsBytes("--queue-bypass")
            if rule.comments.contains(where: { $0.hasPrefix("process IPv") && $0.hasSuffix("traffic with network policy enforcement") }) {
                entry.engine = tableName
            }
            for option in ["-s", "-d"] {
                if let address = rule.argument(option)?.split(separator: "/").first.map(String.init), !entry.podAddresses.contains(address)
                {
                    entry.podAddresses.append(address)
                }
            }
            byQueue[queue] = entry
        }
        return byQueue.values.sorted { $0.queue < $1.queue }
    }

    /// kube-network-policies' table in a namespace, and the NFQUEUE rules among `iptables` (that
    /// namespace's rules, already read).
    public static func read(in sockets: NetlinkSockets, thread: NamespaceThread = .shared, iptables: [FirewallRule]) -> [QueuedPolicy] {
        var found = fromIptables(iptables)
        for (family, name) in NftablesReader.tables(in: sockets, thread: thread) where name == tableName {
            guard let json = NftablesReader.json(["list", "table", family, tableName], in: sockets.namespace, thread: thread).output,
                let queued = parse(json: json, family: family)
            else { continue }
            found.append(queued)
        }
        return found
    }
}

/// One line of /proc/net/netfilter/nfnetlink_queue: a queue someone listens on.
public struct QueueListener: Sendable, Equatable {
    public var queue: UInt16
    public var portID: UInt32
    public var waiting: UInt64
    /// Dropped by the kernel: the queue was full, or netlink could not deliver.
    public var queueDropped: UInt64
    public var userDropped: UInt64
    /// The ID the next queued packet gets: it moves by one per packet queued.
    public var sequence: UInt64

    public init(queue: UInt16, portID: UInt32, waiting: UInt64, queueDropped: UInt64, userDropped: UInt64, sequence: UInt64) {
        self.queue = queue
        self.portID = portID
        self.waiting = waiting
        self.queueDropped = queueDropped
        self.userDropped = userDropped
        self.sequence = sequence
    }

    /// Every listening queue, from the file's text (the calling thread's namespace's).
    public static func parse(_ text: String) -> [QueueListener] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt64($0) }
            guard fields.count >= 8, let queue = UInt16(exactly: fields[0]), let port = UInt32(exactly: fields[1]) else { return nil }
            return QueueListener(
                queue: queue, portID: port, waiting: fields[2], queueDropped: fields[5], userDropped: fields[6], sequence: fields[7])
        }
    }

    /// The listeners of the calling thread's namespace (/proc/thread-self: the kernel's per-namespace view).
    public static func readHere() -> [QueueListener] {
        KernelFile.bytes("/proc/thread-self/net/netfilter/nfnetlink_queue", limit: 1 << 20).map {
            parse(String(decoding: $0, as: UTF8.self))
        } ?? []
    }
}

/// The queues a policy engine uses and their listeners before and after a probe.
public struct QueueObservation: Sendable {
    public var policies: [QueuedPolicy]
    public var before: [QueueListener]
    public var after: [QueueListener]

    public init(policies: [QueuedPolicy], before: [QueueListener], after: [QueueListener]) {
        self.policies = policies
        self.before = before
        self.after = after
    }
}

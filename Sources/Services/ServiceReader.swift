import Cilium
import Firewall
import Netlink
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// How the proxy mode was learnt, for the report: kube-proxy said so, or the kernel's state did.
public enum ProxyModeSource: Sendable, Equatable, CustomStringConvertible {
    /// `--proxy-mode` on the command line.
    case given
    /// kube-proxy's own `/proxyMode` on its metrics port.
    case kubeProxy(port: UInt16)
    /// The kernel's state: which rules, tables, links or maps exist.
    case kernel(String)

    public var description: String {
        switch self {
        case .given: "given with --proxy-mode"
        case .kubeProxy(let port): "kube-proxy's /proxyMode on 127.0.0.1:\(port)"
        case .kernel(let evidence): "the kernel's state: \(evidence)"
        }
    }
}

/// The node's Service table, read from this node's kernel in the mode kube-proxy runs in.
public struct ServiceReading: Sendable {
    /// nil: no mode could be told (no kube-proxy rules in any mode, no kube-proxy answering).
    public var table: ServiceTable?
    public var mode: ProxyMode?
    public var modeSource: ProxyModeSource?
    /// Why the table is missing or partial, one line each.
    public var problems: [String]
    /// When no mode could be told: what was looked for and not found.
    public var absence: String? = nil
    /// kube-proxy's own account of its syncs, when its metrics listener answers.
    public var proxyStatus: KubeProxyStatus? = nil
    /// The rules read, kept as long as the reading: a command exits without tearing down tens
    /// of thousands of them (freeing cost what parsing did).
    var scanned: KubeRuleScanner.Scanned? = nil
}

/// Reads kube-proxy's state on this node: the mode from kube-proxy's metrics listener where it
/// answers (`/proxyMode`), else from the kernel (nat `KUBE-SERVICES` in iptables-save, table
/// `ip kube-proxy`, link `kube-ipvs0`, Cilium's pinned service map); then that mode's rules.
public enum ServiceReader {
    public static let kubeProxyMetricsPort: UInt16 = 10249

    /// `counters`: read iptables-save with its counters, so that a trace that follows takes its
    /// firewall snapshot from the same read (`services` needs none). `node`: the sockets of the
    /// namespace netdoctor runs in (the node's), where kube-proxy's rules are. `bpfRoot`: the
    /// node's root, where Cilium's maps are pinned (its /sys/fs/bpf).
    public static func read(
        mode given: ProxyMode? = nil, metricsPort: UInt16 = kubeProxyMetricsPort, counters: Bool = false, node: NetlinkSockets,
        bpfRoot: NodeRoot = NodeRoot("/")
    ) -> ServiceReading {
        let answered = LoopbackHTTP.get(port: metricsPort, path: "/proxyMode")
        // Its metrics say whether its rules are current (PROXY_STALE).
        var status =
            answered == nil
            ? nil
            : LoopbackHTTP.get(port: metricsPort, path: "/metrics")
                .flatMap { $0.status == 200 ? KubeProxyStatus.parse(metrics: $0.text) : nil }
        // Its running configuration says how it tells local traffic (MASQUERADE_MISSING).
        if answered != nil, let configz = LoopbackHTTP.get(port: metricsPort, path: "/configz"), configz.status == 200 {
            status = status ?? KubeProxyStatus(lastSync: nil, lastQueued: nil, failures: nil)
            status?.config = KubeProxyConfig.parse(json: configz.body)
        }
        var reading = readTable(
            given: given, answered: answered, metricsPort: metricsPort, counters: counters, node: node, bpfRoot: bpfRoot)
        reading.proxyStatus = status
        return reading
    }

    /// The mode (given, kube-proxy's answer, else the kernel's state), then that mode's rules.
    static func readTable(
        given: ProxyMode?, answered: LoopbackHTTP.Response?, metricsPort: UInt16, counters: Bool, node: NetlinkSockets,
        bpfRoot: NodeRoot = NodeRoot("/")
    ) -> ServiceReading {
        var problems: [String] = []
        // iptables-save runs anyway in most cases: detection and the iptables mode share it.
        var saved: (rules: KubeRuleScanner.Scanned?, problem: String?)? = nil
        let iptables = { () -> (rules: KubeRuleScanner.Scanned?, problem: String?) in
            if let saved { return saved }
            saved = Self.iptablesRules(counters: counters, node: node)
            return saved!
        }
        // ip6tables-save too runs at most once: detection on an IPv6-only node and the table share it.
        var saved6: (rules: KubeRuleScanner.Scanned?, problem: String?)? = nil
        let ip6tables = { () -> (rules: KubeRuleScanner.Scanned?, problem: String?) in
            if let saved6 { return saved6 }
            saved6 = Self.ip6tablesRules(node)
            return saved6!
        }
        var mode = given
        var source: ProxyModeSource? = given == nil ? nil : .given
        if mode == nil, let answer = answered, answer.status == 200 {
            let word = String(answer.text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).first ?? "")
            if let said = ProxyMode(rawValue: word) {
                mode = said
                source = .kubeProxy(port: metricsPort)
            } else {
                problems.append("kube-proxy's /proxyMode answered \"\(word.prefix(40))\", which is no mode netdoctor knows")
            }
        }
        if mode == nil {
            let detected = detect(iptables: iptables(), node: node, ip6tables: ip6tables, bpfRoot: bpfRoot)
            mode = detected?.mode
            source = detected.map { .kernel($0.evidence) }
        }
        guard let mode else {
            if let problem = iptables().problem { problems.append(problem) }
            return ServiceReading(
                table: nil, mode: nil, modeSource: nil, problems: problems,
                absence:
                    "no KUBE-SERVICES chain or other kube-proxy chain, no kube-proxy nftables table, no kube-ipvs0 link, no Cilium service map, and nothing answers on 127.0.0.1:\(metricsPort)"
            )
        }
        switch mode {
        case .iptables:
            let (rules, problem) = iptables()
            guard let rules else {
                return ServiceReading(table: nil, mode: mode, modeSource: source, problems: problems + [problem ?? "iptables-save failed"])
            }
            var table = IptablesServices.table(from: rules)
            table.readFrom = rules.readFrom
            // A dual-stack or IPv6 cluster: kube-proxy's IPv6 proxier keeps its Services in ip6tables.
            let (rules6, problem6) = ip6tables()
            if let rules6, rules6.nat["KUBE-SERVICES"]?.isEmpty == false || !rules6.filter.isEmpty {
                table.entries += IptablesServices.table(from: rules6).entries
                table.readFrom = (table.readFrom ?? "iptables-save") + ", ip6tables-save"
            } else if let problem6 {
                problems.append(problem6)
            }
            table.problems = problems + table.problems
            return ServiceReading(table: table, mode: mode, modeSource: source, problems: [], scanned: rules)
        case .nftables:
            let (documents, problem) = nftablesDocuments(node)
            if let problem { problems.append(problem) }
            guard problem == nil else { return ServiceReading(table: nil, mode: mode, modeSource: source, problems: problems) }
            var table = documents.isEmpty ? ServiceTable(mode: .nftables, entries: []) : NftablesServices.table(fromJSON: documents)
            table.readFrom = "nft -j list table ip kube-proxy"
            table.problems = problems + table.problems
            return ServiceReading(table: table, mode: mode, modeSource: source, problems: [])
        case .ipvs:
            // /proc/net/ip_vs of this thread's namespace (the node's).
            guard let text = procText("/proc/thread-self/net/ip_vs") else {
                return ServiceReading(
                    table: nil, mode: mode, modeSource: source,
                    problems: problems + ["IPVS mode, but /proc/net/ip_vs cannot be read (the ip_vs module not loaded?)"])
            }
            var table = IPVSServices.table(procText: text)
            table.readFrom = "/proc/net/ip_vs"
            table.problems = problems + table.problems
            table.notes.append("IPVS mode: Service names are not in the kernel; entries are named by their virtual server")
            return ServiceReading(table: table, mode: mode, modeSource: source, problems: [])
        case .cilium:
            guard let cilium = CiliumDatapath.find(root: bpfRoot) else {
                return ServiceReading(
                    table: nil, mode: mode, modeSource: source,
                    problems: problems + [
                        "Cilium's kube-proxy replacement, but its maps (cilium_metrics, cilium_lb4_services_v2) are not pinned under /sys/fs/bpf/tc/globals"
                    ])
            }
            let (table, failures) = CiliumServices.table(cilium)
            var reading = ServiceReading(table: table, mode: mode, modeSource: source, problems: problems + failures)
            // With socket-LB, pods' connections are translated at connect(): no DNAT on the wire.
            reading.table?.notes.append(
                "With Cilium's socket-LB, pods' connections are translated at connect(): no DNAT shows in conntrack or on the wire")
            return reading
        }
    }

    /// A procfs file's text (its size says 0: read to the end), bounded to 64 MiB.
    static func procText(_ path: String) -> String? {
        KernelFile.bytes(path, limit: 64 << 20).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `nft -j list table ip|ip6 kube-proxy`, read again when kube-proxy changed the ruleset in
    /// between (the generation moved: the two families would not be of one sync).
    static func nftablesDocuments(_ node: NetlinkSockets) -> (documents: [[UInt8]], problem: String?) {
        var problem: String? = nil
        for _ in 0..<3 {
            let before = FirewallReader.generation(node)
            var documents: [[UInt8]] = []
            problem = nil
            for family in ["ip", "ip6"] {
                let (output, failure) = NftablesReader.json(["list", "table", family, "kube-proxy"], in: node.namespace)
                // No such table is an answer (nothing programmed), not a failure to read.
                if let output {
                    documents.append(output)
                } else if family == "ip", let failure, !failure.contains("No such file") {
                    problem = failure
                }
            }
            if before == nil || FirewallReader.generation(node) == before { return (documents, problem) }
        }
        return ([], "kube-proxy's nftables rules changed each of three times they were read (a sync in progress): not judged")
    }

    /// The mode the kernel's state shows, and the evidence; nil when it shows none.
    static func detect(
        iptables: (rules: KubeRuleScanner.Scanned?, problem: String?), node: NetlinkSockets,
        ip6tables: () -> (rules: KubeRuleScanner.Scanned?, problem: String?), bpfRoot: NodeRoot = NodeRoot("/")
    ) -> (mode: ProxyMode, evidence: String)? {
        if NftablesReader.tables(in: node).contains(where: { $0.name == "kube-proxy" && ($0.family == "ip" || $0.family == "ip6") }) {
            return (.nftables, "table ip kube-proxy exists")
        }
        if let rules = iptables.rules {
            if rules.nat["KUBE-SERVICES"]?.isEmpty == false {
                return (.iptables, "the nat table has KUBE-SERVICES rules")
            }
            // An IPv6-only cluster's kube-proxy programs ip6tables alone.
            if let rules6 = ip6tables().rules, rules6.nat["KUBE-SERVICES"]?.isEmpty == false || !rules6.filter.isEmpty {
                return (.iptables, "ip6tables' nat table has KUBE-SERVICES rules")
            }
            // kube-proxy's other chains outlive a flush of KUBE-SERVICES (or a kube-proxy that
            // stopped half-way): the mode is still iptables, with nothing programmed.
            let own = ["KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-SVC-", "KUBE-SEP-", "KUBE-NODEPORTS"]
            if let left = rules.nat.keys.sorted().first(where: { chain in own.contains { chain.hasPrefix($0) } }) {
                return (.iptables, "kube-proxy's chains are in the nat table (\(left)), but KUBE-SERVICES has no rule")
            }
        }
        let live = NodeRoot("/")
        if live.status("/sys/class/net/kube-ipvs0") != nil { return (.ipvs, "link kube-ipvs0 exists") }
        for path in ["/sys/fs/bpf/tc/globals/cilium_lb4_services_v2", "/run/cilium/bpffs/tc/globals/cilium_lb4_services_v2"]
        where bpfRoot.status(path) != nil {
            return (.cilium, "\(path) is pinned")
        }
        return nil
    }

    /// kube-proxy's IPv6 rules: ip6tables-save's nat and filter tables (a Service without
    /// endpoints is a REJECT in filter), nil and no problem where there is no ip6 nat table or no
    /// ip6tables-save (an IPv4-only node).
    static func ip6tablesRules(_ node: NetlinkSockets) -> (rules: KubeRuleScanner.Scanned?, problem: String?) {
        guard let tool = FirewallReader.saveTool(.ipv6), FirewallReader.tableExists("nat", family: .ipv6, sockets: node) else {
            return (nil, nil)
        }
        guard
            let result = ChildProcess.run(
                tool, arguments: [], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                timeoutMilliseconds: 10_000, outputLimit: 512 << 20)
        else {
            return (nil, "ip6tables-save could not be started")
        }
        guard result.status == 0 else {
            return (
                nil, "ip6tables-save failed: \(result.errorText.split(separator: "\n").first.map(String.init) ?? "status \(result.status)")"
            )
        }
        var scanned = KubeRuleScanner.scan(result.output)
        scanned.readFrom = "ip6tables-save"
        return (scanned, nil)
    }

    /// kube-proxy's rules, or why there are none: from nf_tables directly where iptables-nft keeps
    /// them and every rule is understood (KubeRulesOverNetlink), else from iptables-save.
    /// `counters`: a trace follows, and its firewall snapshot of this namespace (iptables-save of
    /// the tables that can drop: a third of a second beside 60,000 nat rules, which iptables-nft
    /// fetches whatever table is asked) is taken on a second thread meanwhile.
    static func iptablesRules(counters: Bool, node: NetlinkSockets) -> (rules: KubeRuleScanner.Scanned?, problem: String?) {
        let read = ReadOnce()
        // A new thread starts in its creator's namespace: both read this one.
        SideBySide.run(counters ? 2 : 1) { index in
            if index == 0 { read.scanned = KubeRulesOverNetlink.read(node) } else { _ = FirewallReader.read(in: node, dropping: true) }
        }
        if let scanned = read.scanned { return (scanned, nil) }
        return savedRules(counters: counters, node: node)
    }

    /// The netlink reading, handed from the thread that made it (SideBySide joins it first).
    private final class ReadOnce: @unchecked Sendable {
        var scanned: KubeRuleScanner.Scanned?
    }

    /// kube-proxy's rules from iptables-save's output, read as it is written (legacy's too when
    /// the nft flavour says legacy tables exist, as after a switch of backends: K8S#107965), or
    /// why there are none.
    static func savedRules(counters: Bool, node: NetlinkSockets) -> (rules: KubeRuleScanner.Scanned?, problem: String?) {
        let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        guard let tool = FirewallReader.iptablesSave else {
            return (nil, "iptables-save is not installed")
        }
        var stream = KubeRuleScanner.Stream()
        var head: [UInt8] = []
        let generation = counters ? FirewallReader.generation(node) : nil
        guard
            let result = ChildProcess.run(
                tool, arguments: counters ? ["-c"] : [], environment: environment, timeoutMilliseconds: 10_000,
                outputLimit: 512 << 20,
                streaming: { chunk in
                    if head.count < 512 { head += chunk.prefix(512 - head.count) }
                    stream.feed(chunk)
                })
        else {
            return (nil, "iptables-save could not be started")
        }
        guard result.status == 0 else {
            let reason =
                result.timedOut ? "timed out" : result.errorText.split(separator: "\n").first.map(String.init) ?? "status \(result.status)"
            return (nil, "iptables-save failed: \(reason)")
        }
        var scanned = stream.finish()
        scanned.readFrom = "iptables-save"
        if let table = scanned.incompatible.first(where: { $0 == "nat" || $0 == "filter" }) {
            return (
                nil,
                "iptables-save cannot print the \(table) table (\"Table `\(table)' is incompatible, use 'nft' tool\"): a rule in it was written by nft, not iptables; `nft list table ip \(table)` shows it"
            )
        }
        // The same output is this node's firewall snapshot for a trace that follows, if nothing
        // changed while it was read.
        if let generation, FirewallReader.generation(node) == generation {
            FirewallReader.remember(FirewallReader.parse(bytes: scanned.droppingTables), generation: generation)
        }
        // iptables-nft warns on stderr, and older versions in a comment at the top of the output.
        let warning = "iptables-legacy tables present"
        if result.errorText.contains(warning) || String(decoding: head, as: UTF8.self).contains(warning),
            scanned.nat["KUBE-SERVICES"] == nil,
            let legacy = ["/usr/sbin/iptables-legacy-save", "/sbin/iptables-legacy-save"].first(where: {
                NodeRoot("/").status($0)?.isExecutable == true
            }),
            let old = ChildProcess.run(
                legacy, arguments: counters ? ["-c"] : [], environment: environment, timeoutMilliseconds: 10_000, outputLimit: 512 << 20),
            old.status == 0
        {
            scanned = KubeRuleScanner.scan(old.output)
            scanned.readFrom = "iptables-legacy-save"
        }
        return (scanned, nil)
    }
}

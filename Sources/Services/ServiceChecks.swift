import Diagnosis
import NetAddress
import NetlinkCodec

/// The service codes, each decided here and nowhere else: pure judgements over the table read
/// from kube-proxy's rules (SERVICE_NO_ENDPOINTS, SERVICE_NO_LOCAL_ENDPOINTS,
/// SERVICE_NOT_PROGRAMMED, SERVICE_RULES_UNREADABLE).
public enum ServiceChecks {
    /// Findings for `entries`; `named`: the user asked for these (a missing endpoint is then an
    /// error, not a listing's warning).
    public static func judge(_ entries: [ServiceEntry], mode: ProxyMode, named: Bool) -> [Finding] {
        entries.flatMap { entry -> [Finding] in
            switch entry.disposition {
            case .endpoints: return []
            case .noEndpoints: return [noEndpoints(entry, mode: mode, named: named)]
            case .noLocalEndpoints: return [noLocalEndpoints(entry, mode: mode)]
            }
        }
    }

    static func noEndpoints(_ entry: ServiceEntry, mode: ProxyMode, named: Bool) -> Finding {
        let frontends = entry.frontends.map(\.description).joined(separator: ", ")
        return Finding(
            .serviceNoEndpoints, named ? .error : .warning,
            mode == .cilium
                ? "\(entry.label) (\(entry.proto)) has no backends: Cilium's load balancer drops new connections to \(frontends) (Service backend not found)."
                : "\(entry.label) (\(entry.proto)) has no endpoints: kube-proxy rejects new connections to \(frontends).",
            hop: hop(mode), evidence: entry.evidence,
            remedy: FindingCode.serviceNoEndpoints.entry?.remedy)
    }

    static func noLocalEndpoints(_ entry: ServiceEntry, mode: ProxyMode) -> Finding {
        let external = entry.frontends.filter {
            if case .clusterIP = $0 { return false }; return true
        }.map(\.description)
        let elsewhere =
            entry.endpoints.isEmpty
            ? ""
            : " Traffic from pods still reaches its \(entry.endpoints.count) endpoint\(entry.endpoints.count == 1 ? "" : "s") elsewhere."
        return Finding(
            .serviceNoLocalEndpoints, .warning,
            "\(entry.label) (\(entry.proto)) has externalTrafficPolicy: Local and no endpoint on this node: traffic from outside to \(external.isEmpty ? "its external frontends" : external.joined(separator: ", ")) is dropped here.\(elsewhere)",
            hop: hop(mode), evidence: entry.evidence, remedy: FindingCode.serviceNoLocalEndpoints.entry?.remedy)
    }

    /// Who translates the Service's traffic on this node.
    static func hop(_ mode: ProxyMode) -> String {
        mode == .cilium ? "node: Cilium's load balancer" : "node: kube-proxy (\(mode.rawValue) mode)"
    }

    /// The asked Service is in no rule of the mode read.
    public static func notProgrammed(_ query: ServiceQuery, reading: ServiceReading) -> Finding {
        let mode = reading.mode.map { "\($0.rawValue) mode" } ?? "any mode"
        let count = reading.table?.entries.count ?? 0
        return Finding(
            .serviceNotProgrammed, .error,
            "\(query) is in none of kube-proxy's rules on this node (\(mode), \(count) service port\(count == 1 ? "" : "s") programmed): packets to it are not translated.",
            hop: "node: kube-proxy", evidence: reading.modeSource.map { ["mode from \($0)"] } ?? [],
            remedy: FindingCode.serviceNotProgrammed.entry?.remedy)
    }

    /// No Service programmed at all: no mode could be told, or its rules are empty (every cluster
    /// has default/kubernetes).
    public static func nothingProgrammed(_ reading: ServiceReading, named: Bool) -> Finding {
        let message =
            reading.mode.map {
                "No Service is programmed on this node: kube-proxy's \($0.rawValue) rules hold none (not even default/kubernetes)."
            }
            ?? "No Service is programmed on this node: no kube-proxy rules in any mode and no kube-proxy answering."
        return Finding(
            .serviceNotProgrammed, named ? .error : .warning, message, hop: "node: kube-proxy",
            evidence: (reading.modeSource.map { ["mode from \($0)"] } ?? []) + (reading.absence.map { ["looked for: \($0)"] } ?? []),
            remedy: FindingCode.serviceNotProgrammed.entry?.remedy)
    }

    /// What could not be read (a tool failed, a mode not read yet, rules out of kube-proxy's layout).
    public static func unreadable(_ problems: [String], mode: ProxyMode?) -> [Finding] {
        guard !problems.isEmpty else { return [] }
        let what = mode.map { "kube-proxy's \($0.rawValue) state" } ?? "kube-proxy's state"
        return [
            Finding(
                .serviceRulesUnreadable, .warning,
                "\(what) could not be read in full: \(problems[0])\(problems.count > 1 ? " (and \(problems.count - 1) more)" : "")",
                hop: "node: kube-proxy", evidence: Array(problems.prefix(20)), remedy: FindingCode.serviceRulesUnreadable.entry?.remedy)
        ]
    }

    /// STALE_CONNTRACK, by kube-proxy's own rule: a UDP entry to a Service's address and port (or
    /// a node port) whose reply source is none of that port's endpoints now.
    public static func staleConntrack(_ entries: [Conntrack.Entry], table: ServiceTable) -> [Finding] {
        var byFrontend: [FrontendKey: ServiceEntry] = [:]
        var byNodePort: [UInt16: ServiceEntry] = [:]
        for entry in table.entries where entry.proto == "udp" && entry.disposition != .noEndpoints {
            for frontend in entry.frontends {
                if let address = frontend.address {
                    byFrontend[FrontendKey(address: address, port: frontend.port)] = entry
                } else {
                    byNodePort[frontend.port] = entry
                }
            }
        }
        var stale: [(ServiceEntry, Conntrack.Entry)] = []
        for connection in entries where connection.original.proto == 17 {
            guard let port = connection.original.destinationPort,
                let service = byFrontend[FrontendKey(address: connection.original.destination, port: port)] ?? byNodePort[port]
            else { continue }
            if !service.endpoints.contains(where: { $0.address == connection.reply.source }) { stale.append((service, connection)) }
        }
        let grouped = Dictionary(grouping: stale, by: { $0.0.label })
        return grouped.keys.sorted().map { label in
            let group = grouped[label]!
            let gone = Set(group.map { $0.1.reply.source.description }).sorted()
            let live = group.filter { isLiveFlow($0.1) }
            let what =
                "\(group.count) UDP conntrack entr\(group.count == 1 ? "y" : "ies") for \(label) still send\(group.count == 1 ? "s" : "") its traffic to \(gone.joined(separator: ", ")), no longer \(gone.count == 1 ? "an endpoint" : "endpoints")"
            // A live flow keeps refreshing its entry, so it is blackholed until it goes quiet:
            // an error. An entry nothing refreshes only waits to expire.
            let message =
                live.isEmpty
                ? "\(what): those flows go nowhere until the entries expire."
                : "\(what): \(live.count) of them \(live.count == 1 ? "is a live flow" : "are live flows") (assured, a packet within the last minute), blackholed until \(live.count == 1 ? "it goes" : "they go") quiet for \(Self.udpStreamTimeout) s or the entries are deleted."
            return Finding(
                .staleConntrack, live.isEmpty ? .warning : .error, message,
                hop: "node: conntrack",
                evidence: (live + group.filter { !isLiveFlow($0.1) }).prefix(10).map { "conntrack: \($0.1.summary)" },
                remedy: FindingCode.staleConntrack.entry?.remedy)
        }
    }

    /// nf_conntrack_udp_timeout_stream's default (120 s since Linux 5.4's rework, 180 before):
    /// what an assured UDP entry's timeout is reset to by each packet.
    static let udpStreamTimeout: UInt32 = 120

    /// An entry that saw replies (assured: the flow worked once) and a packet within the last
    /// minute (its timeout, reset to the stream timeout by every packet, has not run down by more).
    static func isLiveFlow(_ entry: Conntrack.Entry) -> Bool {
        guard entry.status & Conntrack.Status.assured != 0, let left = entry.timeoutSeconds else { return false }
        return left + 60 >= udpStreamTimeout
    }

    struct FrontendKey: Hashable {
        var address: IPAddress
        var port: UInt16
    }

    /// CONNTRACK_FAILURES: insert_failed, drop or early_drop above zero, summed over CPUs.
    public static func conntrackCounters(_ cpus: [Conntrack.CPUStatistics]) -> [Finding] {
        let names = ["insert_failed", "drop", "early_drop"]
        let totals = names.map { name in (name, cpus.reduce(UInt64(0)) { $0 + UInt64($1[name]) }) }.filter { $0.1 > 0 }
        guard !totals.isEmpty else { return [] }
        return [
            Finding(
                .conntrackFailures, .warning,
                "conntrack has failed packets since boot: \(totals.map { "\($0.0) \($0.1)" }.joined(separator: ", ")).",
                hop: "node: conntrack",
                evidence: cpus.map { cpu in "cpu=\(cpu.cpu) " + names.map { "\($0)=\(cpu[$0])" }.joined(separator: " ") },
                remedy: FindingCode.conntrackFailures.entry?.remedy)
        ]
    }

    /// MASQUERADE_MISSING: a link of kube-proxy's SNAT chain is missing, or (its /configz) its
    /// local-traffic detector has no cluster CIDR to go on.
    public static func masquerade(_ table: ServiceTable, config: KubeProxyConfig? = nil) -> [Finding] {
        if let config, config.detectorMissing, table.masqueradeMissing == nil {
            return [
                Finding(
                    .masqueradeMissing, .warning,
                    "kube-proxy tells local traffic by the cluster CIDR but has none: clients from outside the cluster reach Services without masquerade, and replies from endpoints on other nodes do not come back through this node.",
                    hop: "node: kube-proxy",
                    evidence: [
                        "/configz: DetectLocalMode \(config.detectLocalMode.isEmpty ? "(default ClusterCIDR)" : config.detectLocalMode), cluster CIDRs \"\(config.clusterCIDR)\"",
                        "/configz shape: \(config.shape)",
                    ],
                    remedy:
                        "Set kube-proxy's clusterCIDR (or detectLocalMode NodeCIDR/BridgeInterface/InterfaceNamePrefix with its setting).")
            ]
        }
        guard let missing = table.masqueradeMissing else { return [] }
        return [
            Finding(
                .masqueradeMissing, .error,
                "kube-proxy's masquerade is not in place (\(missing)): a pod reaching itself through a Service, and clients outside the cluster, get replies that do not match their connection.",
                hop: "node: kube-proxy (\(table.mode.rawValue) mode)", evidence: [missing],
                remedy: FindingCode.masqueradeMissing.entry?.remedy)
        ]
    }

    /// HAIRPIN_DISABLED: the source is one of the Service's endpoints and its bridge port does not
    /// hairpin. `hairpin`: the port's hairpin_mode (nil: not a bridge port, or not read).
    public static func hairpin(_ entry: ServiceEntry, source: IPAddress, hostInterface: String?, hairpin: Bool?) -> [Finding] {
        guard hairpin == false, let hostInterface, entry.endpoints.contains(where: { $0.address == source }) else { return [] }
        let share = entry.endpoints.first { $0.address == source }?.share.map { " (\(Int(($0 * 100).rounded()))% of them)" } ?? ""
        return [
            Finding(
                .hairpinDisabled, .error,
                "The source \(source) is an endpoint of \(entry.label) and its bridge port \(hostInterface) has hairpin off: its connections to the Service that the kernel sends back to itself\(share) fail.",
                hop: "node:\(hostInterface)",
                evidence: [
                    "/sys/class/net/\(hostInterface)/brport/hairpin_mode = 0",
                    "\(source) is among the endpoints kube-proxy programmed for \(entry.label)",
                ],
                remedy: FindingCode.hairpinDisabled.entry?.remedy)
        ]
    }

    /// PROXY_STALE from kube-proxy's own metrics; `now`: Unix time.
    public static func proxyStale(_ status: KubeProxyStatus?, now: Double) -> [Finding] {
        guard let status else { return [] }
        var findings: [Finding] = []
        var evidence: [String] = []
        if let sync = status.lastSync {
            evidence.append("kubeproxy_sync_proxy_rules_last_timestamp_seconds \(Int(sync)) (\(Int(now - sync)) s ago)")
        }
        if let queued = status.lastQueued {
            evidence.append("kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds \(Int(queued)) (\(Int(now - queued)) s ago)")
        }
        if let sync = status.lastSync, let queued = status.lastQueued, queued > sync + 60, now - queued > 60 {
            findings.append(
                Finding(
                    .proxyStale, .error,
                    "A change has waited \(Int(now - queued)) s for kube-proxy to write it: its rules here are older than the cluster's Services and endpoints.",
                    hop: "node: kube-proxy", evidence: evidence, remedy: FindingCode.proxyStale.entry?.remedy))
        } else if let sync = status.lastSync, now - sync > 300 {
            findings.append(
                Finding(
                    .proxyStale, .error,
                    "kube-proxy last wrote its rules \(Int(now - sync)) s ago (it syncs every 30 s by default): they may be out of date.",
                    hop: "node: kube-proxy", evidence: evidence, remedy: FindingCode.proxyStale.entry?.remedy))
        }
        if let failures = status.failures, failures > 0 {
            findings.append(
                Finding(
                    .proxyStale, .warning,
                    "kube-proxy failed to write its rules \(Int(failures)) time\(failures == 1 ? "" : "s") since it started.",
                    hop: "node: kube-proxy", evidence: evidence + ["sync failures total \(Int(failures))"],
                    remedy: FindingCode.proxyStale.entry?.remedy))
        }
        return findings
    }
}

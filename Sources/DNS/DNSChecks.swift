import Diagnosis
import NetAddress

/// The DNS codes, each decided here and nowhere else: pure judgements over DNSFacts.
public enum DNSChecks {
    public static func judge(_ facts: DNSFacts, resolution: DNSResolution) -> [Finding] {
        var findings = configuration(facts) + loopRisk(facts)
        for server in facts.nameservers { findings += reachability(facts, server: server, walked: Set(resolution.walked)) }
        findings += answers(facts, resolution: resolution, already: findings)
        findings += conntrackRace(facts)
        findings += nodeLocal(facts)
        return findings
    }

    /// DNS_CONNTRACK_RACE: the node's insert_failed rose while pairs of queries went out of one
    /// socket, and answers were lost.
    static func conntrackRace(_ facts: DNSFacts) -> [Finding] {
        guard let burst = facts.burst, let failed = burst.insertFailed, failed > 0 else { return [] }
        return [
            Finding(
                .dnsConntrackRace, burst.lost > 0 ? .error : .warning,
                "Parallel A and AAAA queries from one socket race in conntrack on this node: insert_failed rose by \(failed) during \(burst.rounds) pairs to \(burst.server), and \(burst.lost) answer\(burst.lost == 1 ? "" : "s") never came: a lookup that loses one waits the resolver's timeout (5 s).",
                hop: "node: conntrack",
                evidence: [
                    "\(burst.rounds) pairs (A, AAAA) from one UDP socket in \(facts.pod) to \(burst.server):53: \(burst.lost) unanswered",
                    "per-CPU counters during the burst: insert_failed +\(failed), clash_resolve +\(burst.clashResolved.map(String.init) ?? "?"), drop +\(burst.drop.map(String.init) ?? "?")",
                ], remedy: FindingCode.dnsConntrackRace.entry?.remedy)
        ]
    }

    // MARK: the pod's file and the kubelet's settings

    static func configuration(_ facts: DNSFacts) -> [Finding] {
        var findings: [Finding] = []
        let conf = facts.resolvConf
        let file = facts.resolvConfPath
        if conf.nameservers.isEmpty {
            findings.append(
                Finding(
                    .dnsConfigInvalid, .error,
                    "\(facts.pod)'s resolv.conf names no nameserver: its resolver asks 127.0.0.1 inside the pod, where nothing serves DNS.",
                    hop: "pod: \(file)", evidence: conf.ignoredNameservers.map { "nameserver \($0) (not an address)" },
                    remedy: FindingCode.dnsConfigInvalid.entry?.remedy))
        }
        let ignored =
            conf.ignoredNameservers.filter { _ in !conf.nameservers.isEmpty }.map {
                "nameserver \($0): ignored (not an address, or past the third)"
            }
            + conf.unknownLines.map { "\"\($0)\": not a keyword the resolver reads" }
            + (conf.ignoredSearch.isEmpty
                ? [] : ["\(conf.ignoredSearch.count) search domains past Kubernetes' 32 (from \(conf.ignoredSearch[0])): not queried here"])
        if !ignored.isEmpty {
            findings.append(
                Finding(
                    .dnsConfigInvalid, .warning,
                    "\(facts.pod)'s resolv.conf has \(ignored.count) line\(ignored.count == 1 ? "" : "s") its resolver ignores.",
                    hop: "pod: \(file)", evidence: ignored, remedy: FindingCode.dnsConfigInvalid.entry?.remedy))
        }
        guard let kubelet = facts.kubelet else { return findings }
        let clusterShaped = kubelet.clusterDomain.map { conf.search.contains("svc.\($0)") } ?? false
        if !kubelet.clusterDNS.isEmpty, clusterShaped, conf.nameservers != kubelet.clusterDNS {
            findings.append(
                Finding(
                    .dnsConfigMismatch, .error,
                    "\(facts.pod)'s nameservers (\(list(conf.nameservers))) are not the kubelet's clusterDNS (\(list(kubelet.clusterDNS))), though its search list is the cluster's: the pod was made before clusterDNS changed, or its file was edited.",
                    hop: "pod: \(file)",
                    evidence: [
                        "\(file): nameserver \(list(conf.nameservers))",
                        "kubelet clusterDNS \(list(kubelet.clusterDNS)) (\(kubelet.files.joined(separator: ", ")))",
                    ],
                    remedy: FindingCode.dnsConfigMismatch.entry?.remedy))
        }
        if clusterShaped, let domain = kubelet.clusterDomain, let namespace = facts.podNamespace,
            conf.search.first != "\(namespace).svc.\(domain)"
        {
            findings.append(
                Finding(
                    .dnsConfigMismatch, .warning,
                    "\(facts.pod)'s search list does not start with \(namespace).svc.\(domain): short names of Services in its own namespace do not resolve as the kubelet would have them.",
                    hop: "pod: \(file)",
                    evidence: ["\(file): search \(conf.search.joined(separator: " "))", "kubelet clusterDomain \(domain)"],
                    remedy: FindingCode.dnsConfigMismatch.entry?.remedy))
        }
        return findings
    }

    /// A loopback nameserver: in the pod nothing listens there; on the node (the file the kubelet
    /// hands dnsPolicy Default pods and CoreDNS's `forward . /etc/resolv.conf`) it is systemd-resolved's stub, a loop.
    static func loopRisk(_ facts: DNSFacts) -> [Finding] {
        var findings: [Finding] = []
        let inPod = facts.resolvConf.nameservers.filter(\.isLoopback)
        if !inPod.isEmpty {
            findings.append(
                Finding(
                    .dnsLoopRisk, .error,
                    "\(facts.pod)'s resolv.conf names \(list(inPod)), a loopback address: inside the pod nothing serves DNS there (the node's resolv.conf, systemd-resolved's stub, handed to a pod of dnsPolicy Default).",
                    hop: "pod: \(facts.resolvConfPath)", evidence: inPod.map { "\(facts.resolvConfPath): nameserver \($0)" },
                    remedy: FindingCode.dnsLoopRisk.entry?.remedy))
        }
        if let kubelet = facts.kubelet, let node = facts.nodeResolvConf {
            let onNode = node.nameservers.filter(\.isLoopback)
            if !onNode.isEmpty {
                findings.append(
                    Finding(
                        .dnsLoopRisk, .warning,
                        "The kubelet's resolvConf (\(kubelet.resolvConf)) names \(list(onNode)): pods of dnsPolicy Default get a nameserver they cannot reach, and CoreDNS forwarding to it loops (its loop plugin exits: CrashLoopBackOff).",
                        hop: "node: \(kubelet.resolvConf)", evidence: onNode.map { "\(kubelet.resolvConf): nameserver \($0)" },
                        remedy: FindingCode.dnsLoopRisk.entry?.remedy))
            }
        }
        return findings
    }

    // MARK: each nameserver

    /// What one nameserver's answers say. Reachability from every query sent to it (the control
    /// name's too); errors, slowness and unanswered names or types only from the names the
    /// resolver got to (`walked`): the queries netdoctor sent ahead of it are not the pod's problem.
    static func reachability(_ facts: DNSFacts, server: IPAddress, walked: Set<DNSName>) -> [Finding] {
        let view = ServerView(facts: facts, server: server, walked: walked)
        guard !view.udp.isEmpty || !view.tcp.isEmpty else { return [] }
        return transports(view) + unansweredName(view) + serverErrors(view) + slowness(view)
    }

    /// One nameserver's exchanges, as the checks below read them.
    struct ServerView {
        let facts: DNSFacts
        let server: IPAddress
        let udp: [DNSExchange], tcp: [DNSExchange]
        /// The exchanges for the names the resolver got to.
        let asked: [DNSExchange]
        let context: [String]

        init(facts: DNSFacts, server: IPAddress, walked: Set<DNSName>) {
            self.facts = facts
            self.server = server
            udp = facts.exchanges(server: server, transport: .udp)
            tcp = facts.exchanges(server: server, transport: .tcp)
            asked = (udp + tcp).filter { walked.contains($0.name) }
            context = facts.serviceContext[server] ?? []
        }

        var udpAnswers: Bool { udp.contains { $0.response != nil } }
        var tcpAnswers: Bool { tcp.contains { $0.response != nil } }

        static func line(_ exchange: DNSExchange) -> String {
            "\(exchange.transport) \(exchange.name) \(exchange.type): \(exchange.summary)"
        }
        var evidence: [String] { [udp.first, tcp.first].compactMap { $0.map(Self.line) } + context }
    }

    /// DNS_SERVER_UNREACHABLE, DNS_UDP_BLOCKED, and DNS_NO_ANSWER for TCP or for one record type.
    static func transports(_ view: ServerView) -> [Finding] {
        let (server, pod) = (view.server, view.facts.pod)
        switch (view.udpAnswers, view.tcpAnswers) {
        case (false, false):
            // Silence costs the resolver its timeout; a refusal (ICMP, a reset) fails at once.
            let silent = (view.udp + view.tcp).filter { $0.outcome == .silent }.count, all = view.udp.count + view.tcp.count
            let cost =
                silent == all
                ? "every lookup waits out the resolver's timeout"
                : silent == 0
                    ? "its queries are refused (ICMP unreachable or a reset), so lookups fail at once"
                    : "some queries are refused, the others wait out the resolver's timeout"
            return [
                Finding(
                    .dnsServerUnreachable, .error, "Nameserver \(server) answers \(pod) neither over UDP nor over TCP: \(cost).",
                    hop: "pod → \(server):53", evidence: view.evidence, remedy: FindingCode.dnsServerUnreachable.entry?.remedy)
            ]
        case (false, true):
            return [
                Finding(
                    .dnsUDPBlocked, .error,
                    "Nameserver \(server) answers \(pod) over TCP but not over UDP: the resolver asks over UDP, so lookups fail.",
                    hop: "pod → \(server):53/udp", evidence: view.evidence, remedy: FindingCode.dnsUDPBlocked.entry?.remedy)
            ]
        case (true, false):
            return [
                Finding(
                    .dnsNoAnswer, .warning,
                    "Nameserver \(server) answers \(pod) over UDP but not over TCP: an answer too large for UDP (truncated) cannot be had.",
                    hop: "pod → \(server):53/tcp", evidence: view.evidence, remedy: FindingCode.dnsNoAnswer.entry?.remedy)
            ]
        case (true, true):
            // One record type unanswered while the other is: each lookup waits a timeout for it.
            let askedUDP = view.asked.filter { $0.transport == .udp }
            return [DNSRecordType.a, .aaaa].compactMap { type in
                let mine = askedUDP.filter { $0.type == type }, other = askedUDP.filter { $0.type != type }
                guard !mine.isEmpty, mine.allSatisfy({ $0.response == nil }), other.contains(where: { $0.response != nil }) else {
                    return nil
                }
                return Finding(
                    .dnsNoAnswer, .warning,
                    "Nameserver \(server) answers \(pod)'s \(type == .a ? "AAAA" : "A") queries but not its \(type) queries over UDP: the resolver sends both and waits a timeout for the one that never comes.",
                    hop: "pod → \(server):53/udp", evidence: mine.prefix(1).map(ServerView.line) + view.context,
                    remedy: FindingCode.dnsNoAnswer.entry?.remedy)
            }
        }
    }

    /// DNS_NO_ANSWER (an error): the server answers (the control name, other names) but not one
    /// query for this name: its upstream or the name's own servers do not answer it.
    static func unansweredName(_ view: ServerView) -> [Finding] {
        guard view.udpAnswers || view.tcpAnswers, !view.asked.isEmpty, view.asked.allSatisfy({ $0.response == nil }) else { return [] }
        let facts = view.facts
        return [
            Finding(
                .dnsNoAnswer, .error,
                "Nameserver \(view.server) answers \(facts.pod) (\(facts.controlName.map { "\($0) answered" } ?? "other queries answered")) but none of its queries for \(facts.name): the server cannot get an answer for it (its upstream, or the name's own servers, do not answer).",
                hop: "pod → \(view.server):53", evidence: view.asked.prefix(4).map(ServerView.line) + view.context,
                remedy: FindingCode.dnsNoAnswer.entry?.remedy)
        ]
    }

    /// DNS_SERVER_ERROR (a warning): answers that are errors (SERVFAIL, REFUSED, …) or garbage.
    static func serverErrors(_ view: ServerView) -> [Finding] {
        let errors = view.asked.filter { exchange in
            if case .malformed = exchange.outcome { return true }
            guard let code = exchange.response?.code else { return false }
            return code != .noError && code != .nameError
        }
        guard let first = errors.first else { return [] }
        return [
            Finding(
                .dnsServerError, .warning,
                "Nameserver \(view.server) answers \(errors.count) of \(view.facts.pod)'s queries with an error rather than an answer (\(first.summary)).",
                hop: "pod → \(view.server):53", evidence: errors.prefix(8).map(ServerView.line) + view.context,
                remedy: FindingCode.dnsServerError.entry?.remedy)
        ]
    }

    /// DNS_SLOW: the slowest answer, when above the threshold.
    static func slowness(_ view: ServerView) -> [Finding] {
        guard let slowest = view.asked.filter({ $0.response != nil }).max(by: { $0.milliseconds < $1.milliseconds }),
            slowest.milliseconds > view.facts.slowMilliseconds
        else { return [] }
        return [
            Finding(
                .dnsSlow, .warning,
                "Nameserver \(view.server) took \(DNSExchange.format(slowest.milliseconds)) ms to answer \(view.facts.pod) (above \(Int(view.facts.slowMilliseconds)) ms).",
                hop: "pod → \(view.server):53", evidence: [ServerView.line(slowest)] + view.context,
                remedy: FindingCode.dnsSlow.entry?.remedy)
        ]
    }

    // MARK: the lookup

    static func answers(_ facts: DNSFacts, resolution: DNSResolution, already: [Finding]) -> [Finding] {
        switch resolution.status {
        case .resolved:
            return []
        case .notFound:
            return [
                Finding(
                    .dnsNXDomain, .error,
                    "\(facts.name) does not resolve for \(facts.pod): every name its search list makes of it is NXDOMAIN or has no address.",
                    hop: "pod: resolver", evidence: resolution.queries, remedy: FindingCode.dnsNXDomain.entry?.remedy)
            ]
        case .failed:
            // The nameserver findings say why; a lookup that failed with none of them still is one.
            guard !already.contains(where: { $0.severity == .error }) else { return [] }
            return [
                Finding(
                    .dnsServerError, .error,
                    "\(facts.name) cannot be resolved for \(facts.pod): no nameserver gave a usable answer for \(resolution.name?.description ?? "it").",
                    hop: "pod: resolver", evidence: resolution.queries, remedy: FindingCode.dnsServerError.entry?.remedy)
            ]
        }
    }

    static func list(_ addresses: [IPAddress]) -> String {
        addresses.isEmpty ? "none" : addresses.map(\.description).joined(separator: ", ")
    }
}

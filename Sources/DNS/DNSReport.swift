import ConfigFormats
import Diagnosis
import NetAddress

/// `netdoctor dns POD [NAME]`: the pod's DNS as the pod sees it (its resolv.conf, the policy it
/// implies, the kubelet's settings), the queries its resolver sends for NAME and what each
/// nameserver answered over UDP and TCP, and what is wrong.
public struct DNSReport: Report {
    public let command = "dns"
    public var facts: DNSFacts
    public var policy: DNSPolicy
    public var resolution: DNSResolution
    public var findings: [Finding]
    /// Traces through a failing nameserver's Service to its endpoints (trace's own reports).
    public var serviceTraces: [any Report]

    public init(facts: DNSFacts, extraFindings: [Finding] = [], serviceTraces: [any Report] = []) {
        self.facts = facts
        policy = DNSPolicy.implied(by: facts)
        resolution = DNSResolution(facts)
        self.serviceTraces = serviceTraces
        findings = DNSChecks.judge(facts, resolution: resolution) + extraFindings + serviceTraces.flatMap(\.findings)
    }

    public var jsonFields: [(String, ConfigValue)] {
        let conf = facts.resolvConf
        return [
            ("pod", .string(facts.pod)), ("name", .string(facts.name.description + (facts.name.absolute ? "." : ""))),
            (
                "resolvConf",
                .fields([
                    "path": .string(facts.resolvConfPath), "nameservers": .texts(conf.nameservers.map(\.description)),
                    "search": .texts(conf.search), "ndots": .int(conf.ndots), "timeoutSeconds": .int(conf.timeoutSeconds),
                    "attempts": .int(conf.attempts), "options": .texts(conf.flags),
                    "ignored": .texts(conf.ignoredNameservers + conf.unknownLines + conf.ignoredSearch),
                ])
            ),
            ("policy", .string(policy.rawValue)),
            (
                "kubelet",
                facts.kubelet.map { kubelet in
                    .fields([
                        "clusterDNS": .texts(kubelet.clusterDNS.map(\.description)), "clusterDomain": .text(kubelet.clusterDomain),
                        "resolvConf": .string(kubelet.resolvConf), "files": .texts(kubelet.files),
                    ])
                } ?? .null
            ),
            ("candidates", .texts(facts.candidates.map(\.description))),
            (
                "resolution",
                .fields([
                    "status": .string(resolution.status.rawValue), "name": .text(resolution.name?.description),
                    "addresses": .texts(resolution.addresses.map(\.description)), "server": .text(resolution.server?.description),
                    "queries": .texts(resolution.queries),
                ])
            ),
            ("exchanges", .array(facts.exchanges.map(json))),
            ("serviceTraces", .array(serviceTraces.map(\.json))),
            (
                "burst",
                facts.burst.map { burst in
                    .fields([
                        "server": .string(burst.server.description), "rounds": .int(burst.rounds), "lost": .int(burst.lost),
                        "insertFailed": .int(burst.insertFailed), "clashResolved": .int(burst.clashResolved), "drop": .int(burst.drop),
                    ])
                } ?? .null
            ),
        ]
    }

    func json(_ exchange: DNSExchange) -> ConfigValue {
        let response = exchange.response
        let outcome: String
        switch exchange.outcome {
        case .answered: outcome = "answered"
        case .silent: outcome = "silent"
        case .refused: outcome = "refused"
        case .unreachable: outcome = "unreachable"
        case .malformed: outcome = "malformed"
        case .closed: outcome = "closed"
        }
        return .fields([
            "server": .string(exchange.server.description), "transport": .string(exchange.transport.rawValue),
            "name": .string(exchange.name.description), "type": .string(exchange.type.description), "outcome": .string(outcome),
            "code": .text(response?.code.description), "addresses": .texts(response?.addresses.map(\.description) ?? []),
            "truncated": .bool(response?.truncated ?? false),
            "milliseconds": .number(exchange.milliseconds, text: DNSExchange.format(exchange.milliseconds)),
            "detail": .string(exchange.summary),
        ])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let conf = facts.resolvConf
        var head: [(label: String, value: String)] = [
            ("resolv.conf", facts.resolvConfPath),
            (
                "nameservers",
                conf.nameservers.isEmpty
                    ? style.red("none (the resolver asks 127.0.0.1)") : conf.nameservers.map(\.description).joined(separator: ", ")
            ),
            ("search", conf.search.isEmpty ? "none" : conf.search.joined(separator: " ")),
            (
                "options",
                (["ndots:\(conf.ndots)", "timeout:\(conf.timeoutSeconds)", "attempts:\(conf.attempts)"] + conf.flags).joined(separator: " ")
            ),
            (
                "policy",
                policy.rawValue
                    + (facts.kubelet.map { kubelet in
                        ", kubelet clusterDNS \(kubelet.clusterDNS.map(\.description).joined(separator: ", ")), domain \(kubelet.clusterDomain ?? "unset")"
                    } ?? "")
            ),
            ("queries", facts.candidates.map(\.description).joined(separator: ", ")),
        ]
        switch resolution.status {
        case .resolved:
            head.append(
                (
                    "answer",
                    style.green(
                        "\(resolution.addresses.map(\.description).joined(separator: ", ")) for \(resolution.name?.description ?? "?") from \(resolution.server?.description ?? "?")"
                    )
                ))
        case .notFound:
            head.append(("answer", style.red("none: every query NXDOMAIN or empty")))
        case .failed:
            head.append(("answer", style.red("none: no nameserver answered for \(resolution.name?.description ?? "?")")))
        }
        if let burst = facts.burst {
            head.append(
                (
                    "race probe",
                    "\(burst.rounds) A+AAAA pairs from one socket to \(burst.server): \(burst.lost) unanswered; insert_failed +\(burst.insertFailed.map(String.init) ?? "?"), clash_resolve +\(burst.clashResolved.map(String.init) ?? "?")"
                ))
        }
        var sections = [HumanSection("DNS of \(facts.pod) for \(facts.name)", rows: head)]
        for server in facts.nameservers {
            // The name the resolver settled on (or the first it asked), each transport and type.
            let shown = resolution.name ?? facts.candidates.first
            var rows: [(label: String, value: String)] = facts.serviceContext[server].map { $0.map { ("service", $0) } } ?? []
            for exchange in facts.exchanges(server: server, name: shown) {
                let answered = exchange.response.map { $0.code == .noError || $0.code == .nameError } ?? false
                rows.append(("\(exchange.transport) \(exchange.type)", answered ? exchange.summary : style.red(exchange.summary)))
            }
            sections.append(HumanSection("Nameserver \(server)\(shown.map { " for \($0)" } ?? "")", rows: rows))
        }
        return sections + serviceTraces.flatMap { $0.humanSections(style: style) }
    }
}

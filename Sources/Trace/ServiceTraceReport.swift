import ConfigFormats
import Diagnosis
import NetAddress
import Pods
import Services

/// The answer of `trace SRC SERVICE`: the DNAT step as kube-proxy programmed it, the probe to
/// the Service's address and the endpoint the kernel chose for it, each endpoint's own trace.
public struct ServiceTraceReport: Report {
    public let command = "trace"
    public var source: Pod
    public var entry: ServiceEntry
    public var mode: ProxyMode
    public var address: IPAddress
    public var probe: ServiceProbeResult
    public var endpoints: [EndpointTrace]
    public var findings: [Finding]

    /// Reachable: the probe through the Service was answered.
    public var reachable: Bool { probe.result.reachable }

    public var exitStatus: Int32 { !reachable || findings.contains { $0.severity == .error } ? 1 : 0 }

    var destination: String { "\(entry.label) (\(entry.proto) \(ServiceFrontend.join(address, probe.frontend.port)))" }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("source", .string(source.fullName)), ("destination", .string(destination)), ("reachable", .bool(reachable)),
            ("probe", .string(probe.result.description)),
            (
                "service",
                .fields([
                    "name": .text(entry.name?.description), "protocol": .string(entry.proto), "mode": .string(mode.rawValue),
                    "frontend": .fields([
                        "kind": .string(probe.frontend.kind), "address": .string(address.description),
                        "port": .int(Int(probe.frontend.port)),
                    ]),
                    "dnat": .texts(entry.evidence),
                    "endpointsProgrammed": .int(entry.endpoints.count),
                ])
            ),
            (
                "ciliumConnection",
                probe.ciliumConnection.map { cilium in
                    .fields([
                        "map": .string(cilium.map), "backendID": .int(Int(truncatingIfNeeded: cilium.backendID)),
                        "revNatIndex": .int(Int(cilium.revNatIndex)),
                        "endpoint": .text(probe.chosen.map { ServiceFrontend.join($0.address, $0.port ?? 0) }),
                    ])
                } ?? .null
            ),
            (
                "conntrack",
                probe.connection.map { connection in
                    .fields([
                        "entry": .string(connection.summary),
                        "endpoint": .text(probe.chosen.map { ServiceFrontend.join($0.address, $0.port ?? 0) }),
                        "masqueraded": .bool(connection.sourceTranslated), "replied": .bool(connection.seenReply),
                    ])
                } ?? .null
            ),
            (
                "endpoints",
                .array(
                    endpoints.map { trace in
                        .fields([
                            "address": .string(trace.endpoint.address.description), "port": .int(Int(trace.endpoint.port)),
                            "where": .text(trace.place?.kind.rawValue), "detail": .text(trace.place?.detail),
                            "answers": .bool(trace.answers),
                            "probe": .text(trace.report?.probe ?? trace.problem),
                            "chosen": .bool(probe.chosen?.address == trace.endpoint.address),
                            "hops": .array(
                                (trace.report?.hops ?? []).map { hop in
                                    .fields([
                                        "name": .string(hop.name), "requestSeen": .flag(hop.requestSeen), "replySeen": .flag(hop.replySeen),
                                    ])
                                }),
                        ])
                    })
            ),
        ]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let answering = endpoints.filter(\.answers).count
        var rows: [(label: String, value: String)] = [
            (
                "service",
                "\(entry.label) \(entry.proto), \(mode == .cilium ? "Cilium's load balancer" : "kube-proxy \(mode.rawValue) mode")"
            ),
            (
                "DNAT",
                entry.endpoints.isEmpty
                    ? style.red("no endpoints")
                    : "\(entry.endpoints.count) endpoint\(entry.endpoints.count == 1 ? "" : "s"): "
                        + entry.endpoints.map { "\($0.description)\($0.share.map { " \(Int(($0 * 100).rounded()))%" } ?? "")" }.joined(
                            separator: ", ")
            ),
            ("probe", probe.result.description),
        ]
        if let cilium = probe.ciliumConnection {
            let chosen =
                cilium.backend.map { "sent to \(ServiceFrontend.join($0.address, $0.port))" }
                ?? "backend \(cilium.backendID), no longer in the backends map"
            rows.append(("conntrack", "Cilium's \(cilium.map): \(chosen) (backend \(cilium.backendID), rev-NAT \(cilium.revNatIndex))"))
        } else if let connection = probe.connection {
            let chosen = probe.chosen.map { "sent to \(ServiceFrontend.join($0.address, $0.port ?? 0))" } ?? "not translated"
            rows.append(
                (
                    "conntrack",
                    "\(chosen); \(connection.sourceTranslated ? "masqueraded" : "not masqueraded")\(connection.seenReply ? "" : "; no reply seen")"
                ))
        } else if probe.conntrackProblem == nil {
            rows.append(("conntrack", "no entry for the probe"))
        }
        if !endpoints.isEmpty { rows.append(("endpoints", "\(answering) of \(endpoints.count) answer")) }
        rows.append(("verdict", reachable ? style.green("reachable") : style.red("not reachable")))
        var sections = [HumanSection("Trace \(source.fullName) → \(destination)", rows: rows)]
        let mark = { (seen: Bool?) -> String in seen == true ? style.green("✔") : seen == false ? style.red("✘") : "·" }
        for trace in endpoints {
            let place =
                trace.place.map { "\($0.kind == .thisNode ? "this node" : $0.kind == .remote ? "another node" : "?"): \($0.detail)" } ?? ""
            var endpointRows: [(label: String, value: String)] = [("", style.dim("request reply"))]
            for hop in trace.report?.hops ?? [] {
                endpointRows.append(
                    (hop.name, "   \(mark(hop.requestSeen))      \(mark(hop.replySeen))    \(style.dim(hop.role.rawValue))"))
            }
            endpointRows.append(("probe", trace.report?.probe ?? trace.problem ?? "?"))
            endpointRows.append(("verdict", trace.answers ? style.green("answers") : style.red("does not answer")))
            sections.append(HumanSection("Endpoint \(trace.endpoint.description) \(place)", rows: endpointRows))
        }
        return sections
    }
}

/// `trace SRC ADDRESS:PORT` when no rule of kube-proxy's translates that address and port: no
/// probe is worth sending through a Service that is not there; the finding says why.
public struct UnprogrammedServiceReport: Report {
    public let command = "trace"
    public var source: Pod
    public var query: ServiceQuery
    public var reading: ServiceReading
    public var findings: [Finding]

    public init(source: Pod, query: ServiceQuery, reading: ServiceReading) {
        self.source = source
        self.query = query
        self.reading = reading
        findings =
            (reading.mode == nil
                ? [ServiceChecks.nothingProgrammed(reading, named: true)] : [ServiceChecks.notProgrammed(query, reading: reading)])
            + ServiceChecks.unreadable(reading.problems + (reading.table?.problems ?? []), mode: reading.mode)
    }

    public var exitStatus: Int32 { 1 }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("source", .string(source.fullName)), ("destination", .string(query.text)), ("reachable", .bool(false)),
            ("probe", .string("no probe sent: no Service rule")), ("service", .fields(["mode": .text(reading.mode?.rawValue)])),
        ]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        [
            HumanSection(
                "Trace \(source.fullName) → \(query.text)",
                rows: [
                    ("service", "in none of kube-proxy's rules (\(reading.mode.map { "\($0.rawValue) mode" } ?? "no proxy state"))"),
                    ("verdict", style.red("not reachable through a Service")),
                ])
        ]
    }
}

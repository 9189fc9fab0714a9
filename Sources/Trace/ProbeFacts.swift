import BPF
import Checks
import ConfigFormats
import NetAddress
import Diagnosis
import Firewall
import PathFacts
import PathMTU

/// What sending the probe added to a path's facts: its outcome, what each hop's capture saw, the
/// firewall counters around it, the remote half its agent watched, the path MTU measured. Gathered
/// live by `Tracer`, or read back from a recording for the unit tests.
public struct ProbeFacts: Sendable {
    public var outcome: ProbeResult
    /// Whether each hop of PathFacts.hops saw the request and the reply (in that order).
    public var seen: [HopSeen]
    /// Each namespace's rules before the probe (nil: neither tool could read them), in the order
    /// of PathFacts.namespaces; and after it.
    public var firewallBefore: [[FirewallRule]?]
    public var firewallAfter: [[FirewallRule]]
    public var remote: RemoteHalfView?
    /// AGENT_UNREACHABLE, when the remote half could not be asked or stopped answering.
    public var agentFindings: [Finding]
    /// The path MTU search, for a reachable destination that is not the source itself.
    public var mtuPath: ProbedPath?
    /// What was sent (a policy verdict says what no policy allowed); nil in older recordings.
    public var sent: (proto: TraceProtocol, port: UInt16?)?
    /// --trace-rules: the rules the request met in each namespace on the path (live only).
    public var ruleTraces: [RuleTraceView] = []
    /// A userspace policy engine's queues on this node and their listeners around the probe.
    public var queues: QueueObservation?
    /// --drop-reasons: what the kernel dropped of the probe, placed on the path (live only).
    public var kernelDrops: KernelDropObservation?
    /// The BPF programs attached to each local hop's interface, by hop name.
    public var hopPrograms: [String: [AttachedProgram]] = [:]
    /// Cilium's drop counters around the probe, on a node that runs Cilium.
    public var cilium: CiliumObservation?
    /// What Calico's eBPF counters said around the probe (a node running its eBPF dataplane).
    public var calico: CalicoObservation?
    /// The path's pods of this node as Cilium's datapath has their endpoints.
    public var ciliumEndpoints: [CiliumEndpointFact] = []

    public init(
        outcome: ProbeResult, seen: [HopSeen], firewallBefore: [[FirewallRule]?], firewallAfter: [[FirewallRule]],
        remote: RemoteHalfView? = nil, agentFindings: [Finding] = [], mtuPath: ProbedPath? = nil
    ) {
        self.outcome = outcome
        self.seen = seen
        self.firewallBefore = firewallBefore
        self.firewallAfter = firewallAfter
        self.remote = remote
        self.agentFindings = agentFindings
        self.mtuPath = mtuPath
    }
}

/// The rules the probe's request met in one namespace (nftrace), or why they could not be traced.
public struct RuleTraceView: Sendable {
    public var label: String
    public var rules: [TracedRule]
    /// Why tracing could not start, or why its table could not be removed.
    public var problem: String?
    /// The table was left behind (its removal failed).
    public var leftTable: String?
}

extension ProbeFacts {
    /// As a recording keeps it (the MTU search is not kept: its checks are tested on scripted paths).
    public var json: ConfigValue {
        .fields([
            "outcome": .fields([
                "kind": .string(outcome.kindName), "reason": .text(outcome.reason), "description": .string(outcome.description),
                "captureProblems": .texts(outcome.captureProblems),
            ]),
            "seen": .array(seen.map(\.json)),
            "firewallBefore": .array(firewallBefore.map { $0.map { .array($0.map(\.json)) } ?? .null }),
            "firewallAfter": .array(firewallAfter.map { .array($0.map(\.json)) }),
            "remote": remote?.json ?? .null,
            "agentFindings": .array(agentFindings.map(\.json)),
            "sent": sent.map { .fields(["protocol": .string($0.proto.rawValue), "port": .int($0.port.map(Int.init))]) } ?? .null,
        ])
    }

    public init?(json: ConfigValue) {
        guard let outcome = json["outcome"], let kind = outcome["kind"]?.string, let description = outcome["description"]?.string,
            let result = ProbeResult(kindName: kind, reason: outcome["reason"]?.string, description: description)
        else { return nil }
        var probe = result
        probe.captureProblems = outcome["captureProblems"]?.array?.compactMap(\.string) ?? []
        self.init(
            outcome: probe,
            seen: (json["seen"]?.array ?? []).map(HopSeen.init(json:)),
            firewallBefore: (json["firewallBefore"]?.array ?? []).map { $0.array?.compactMap(FirewallRule.init(json:)) },
            firewallAfter: (json["firewallAfter"]?.array ?? []).map { $0.array?.compactMap(FirewallRule.init(json:)) ?? [] },
            remote: json["remote"].flatMap(RemoteHalfView.init(json:)),
            agentFindings: json["agentFindings"]?.array?.compactMap(Finding.init(json:)) ?? [])
        if let sent = json["sent"], let proto = sent["protocol"]?.string.flatMap(TraceProtocol.init(rawValue:)) {
            let port = sent["port"]?.int.flatMap { UInt16(exactly: $0) }
            self.sent = (proto, port)
        }
    }
}

extension ProbeResult {
    var kindName: String {
        switch kind {
        case .answered: "answered"
        case .refused: "refused"
        case .silent: "silent"
        case .unreachable: "unreachable"
        }
    }

    var reason: String? { if case .unreachable(let why) = kind { return why }; return nil }

    init?(kindName: String, reason: String?, description: String) {
        let kind: Kind
        switch kindName {
        case "answered": kind = .answered
        case "refused": kind = .refused
        case "silent": kind = .silent
        case "unreachable": kind = .unreachable(reason ?? "")
        default: return nil
        }
        self.init(kind: kind, description: description)
    }
}

extension FirewallRule {
    var json: ConfigValue {
        let origin =
            switch self.origin {
            case .iptables: "iptables"
            case .iptablesPolicy: "iptables-policy"
            case .nftables: "nftables"
            }
        return .fields([
            "origin": .string(origin), "table": .string(table), "chain": .string(chain), "specification": .string(specification),
            "packets": .int(Int(clamping: packets)), "bytes": .int(Int(clamping: bytes)), "family": .int(family.rawValue),
        ])
    }

    init?(json: ConfigValue) {
        guard let table = json["table"]?.string, let chain = json["chain"]?.string, let specification = json["specification"]?.string else {
            return nil
        }
        let origin: Origin =
            switch json["origin"]?.string {
            case "iptables-policy": .iptablesPolicy
            case "nftables": .nftables
            default: .iptables
            }
        self.init(
            table: table, chain: chain, specification: specification, packets: UInt64(json["packets"]?.int ?? 0),
            bytes: UInt64(json["bytes"]?.int ?? 0), origin: origin, family: json["family"]?.int.flatMap(IPFamily.init(rawValue:)) ?? .ipv4)
    }
}

extension HopSeen {
    /// As recordings and reports keep it.
    var json: ConfigValue { .fields(["request": .flag(request), "reply": .flag(reply)]) }
    init(json: ConfigValue) { self.init(request: json["request"]?.bool, reply: json["reply"]?.bool) }
}

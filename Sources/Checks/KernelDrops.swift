import BPF
import CalicoBPF
import Diagnosis
import NetAddress
import PathFacts

/// One of the probe's packets the kernel dropped, placed on the path: where (the namespace's
/// label and the interface's name, when the namespace is one of the path's), the programs
/// attached there, and for a reverse-path drop the route the kernel's check found instead.
public struct KernelDropFact: Sendable, Equatable {
    public var drop: KernelDrop
    /// "node:cni0", "pod-b:eth0"; for a namespace not on the path "net:[4026532…] if 12".
    public var place: String
    /// The namespace is one of the path's (this node's part of it).
    public var onPath: Bool
    /// The programs attached where it was dropped (for a TC or XDP reason, the culprits).
    public var programs: [AttachedProgram]
    /// IP_RPFILTER: where the route back to the packet's source leaves ("eth0 via 10.0.0.1").
    public var reverseRoute: String?
    /// Not the probe's loss: a copy freed while the packet itself went on (a bridge or a capture
    /// in promiscuous mode passes frames for others up, to be freed as OTHERHOST; a reply
    /// delivered to the probe's raw socket is freed by the ping socket that did not want it),
    /// or any drop of a probe that was answered.
    public var isCopy = false

    public init(
        drop: KernelDrop, place: String, onPath: Bool, programs: [AttachedProgram] = [], reverseRoute: String? = nil
    ) {
        self.drop = drop
        self.place = place
        self.onPath = onPath
        self.programs = programs
        self.reverseRoute = reverseRoute
    }

    /// "NETFILTER_DROP at nf_hook_slow+0x9b on node:cni0 (10.244.1.2 -> 10.244.1.3 ICMP)".
    public var summary: String {
        "\(drop.reasonName) at \(drop.function ?? "0x" + String(drop.location, radix: 16)) on \(place) (\(drop.packet))"
    }
}

/// What --drop-reasons saw: the drops, or why it could not look.
public enum KernelDropObservation: Sendable, Equatable {
    case observed([KernelDropFact], lost: UInt64)
    case unavailable(String)
}

/// KERNEL_DROP, RP_FILTER_DROP, BPF_PROGRAM_DROP and DROP_REASONS_UNAVAILABLE: the kernel's own
/// reason for dropping the probe (trace --drop-reasons) turned into a verdict; and, without it, a
/// program on the path named as the likely cause of a loss nothing else explains.
public enum KernelDrops {
    public static let codes: [FindingCode] = [.kernelDrop, .rpFilterDrop, .bpfProgramDrop, .dropReasonsUnavailable]

    /// Each drop marked a copy where the packet was seen to go on: the probe answered, or the
    /// same direction seen, or dropped, at a hop past the drop's place (the request further from
    /// the source, the reply nearer to it). Only the others can be the probe's loss.
    public static func sortCopies(_ drops: [KernelDropFact], hops: [ObservedHop], reachable: Bool, source: IPAddress) -> [KernelDropFact] {
        drops.map { fact in
            var fact = fact
            fact.isCopy = reachable || wentOn(fact, hops: hops, drops: drops, source: source)
            return fact
        }
    }

    /// The namespace's label of a place ("node" of "node:cni0").
    static func label(of place: String) -> String { place.split(separator: ":", maxSplits: 1).first.map(String.init) ?? place }

    /// The index of the hop a drop happened at: its own, else the last of its namespace's.
    static func hopIndex(_ fact: KernelDropFact, hops: [ObservedHop]) -> Int? {
        hops.lastIndex { $0.name == fact.place } ?? hops.lastIndex { label(of: $0.name) == label(of: fact.place) }
    }

    static func wentOn(_ fact: KernelDropFact, hops: [ObservedHop], drops: [KernelDropFact], source: IPAddress) -> Bool {
        guard let here = hopIndex(fact, hops: hops) else { return false }
        let request = fact.drop.source == source
        let past = { (index: Int) in request ? index > here : index < here }
        let seenPast = hops.indices.contains { past($0) && (request ? hops[$0].requestSeen : hops[$0].replySeen) == true }
        let droppedPast = drops.contains { other in
            (other.drop.source == source) == request && hopIndex(other, hops: hops).map(past) == true
        }
        return seenPast || droppedPast
    }

    /// The findings of what the kernel dropped. A drop the firewall counters already explain
    /// (FIREWALL_DROP, POLICY_DENIED) stays theirs, with the kernel's agreement added to their
    /// evidence; every other drop on the path is a finding of its own.
    /// `portClosed`: the probe was refused (a reset, a port unreachable): NO_SOCKET there is the
    /// verdict's own evidence (`confirmPortClosed`), not a finding.
    public static func judge(_ observation: KernelDropObservation, portClosed: Bool = false, findings: inout [Finding]) {
        let drops: [KernelDropFact]
        let lost: UInt64
        switch observation {
        case .unavailable(let why):
            findings.append(unavailable(why))
            return
        case .observed(let seen, let count):
            (drops, lost) = (seen, count)
        }
        if lost > 0 {
            findings.append(
                Finding(
                    .dropReasonsUnavailable, .info, "\(lost) of the probe's drops were not reported: the drop-reason ring was full.",
                    remedy: "The drops listed are some of them, not all."))
        }
        // One finding per reason and place: a probe's retries are dropped the same way each time.
        var grouped: [String: (fact: KernelDropFact, count: Int)] = [:]
        var order: [String] = []
        for fact in drops where fact.onPath && !fact.isCopy && !(portClosed && fact.drop.reasonName == "NO_SOCKET") {
            let key = "\(fact.drop.reason)@\(fact.place)"
            if grouped[key] == nil { order.append(key) }
            grouped[key] = (grouped[key]?.fact ?? fact, (grouped[key]?.count ?? 0) + 1)
        }
        for key in order {
            guard let (fact, count) = grouped[key] else { continue }
            let evidence = ["the kernel: \(fact.summary)" + (count > 1 ? " (\(count) packets)" : "")]
            let agreeing = agrees[fact.drop.reasonName] ?? []
            if let index = findings.firstIndex(where: { agreeing.contains($0.code) && $0.severity == .error }) {
                findings[index] = findings[index].adding(evidence: evidence.map { $0 + ": the kernel agrees" })
                continue
            }
            findings.append(finding(fact, evidence: evidence))
        }
        // A route lookup the kernel refused (EINVAL) where it dropped the probe by reverse-path
        // filtering was that check refusing the source, not a missing route.
        let filtered = Set(grouped.values.filter { $0.fact.drop.reasonName == "IP_RPFILTER" }.map { label(of: $0.fact.place) })
        findings.removeAll { finding in
            finding.code == .noRoute && filtered.contains(label(of: finding.hop ?? ""))
                && finding.evidence.contains { $0.hasSuffix("Invalid argument") }
        }
        let elsewhere = drops.filter { !$0.onPath && !$0.isCopy }
        if !elsewhere.isEmpty {
            findings.append(
                Finding(
                    .kernelDrop, .info,
                    "The kernel also dropped \(elsewhere.count) of the probe's packets in a namespace not on this node's part of the path.",
                    evidence: Array(Set(elsewhere.map(\.summary))).sorted().prefix(4).map { $0 },
                    remedy:
                        "On one kernel with several nodes' namespaces (a lab), that is another node's drop: trace from there. Elsewhere, a namespace the probe was not expected in."
                ))
        }
    }

    /// DROP_REASONS_UNAVAILABLE: why the kernel could not be asked, in one line.
    public static func unavailable(_ why: String) -> Finding {
        Finding(
            .dropReasonsUnavailable, .info, "The kernel's drop reasons could not be read: \(why).",
            remedy:
                "Drop reasons need a kernel with BTF and 5.17 or later, libbpf, and root (or CAP_BPF with CAP_PERFMON); the trace's verdict stands without them."
        )
    }

    /// PORT_CLOSED, decided after the drops were judged, with the kernel's NO_SOCKET as evidence.
    public static func confirmPortClosed(_ observation: KernelDropObservation?, findings: inout [Finding]) {
        guard case .observed(let drops, _) = observation,
            let socketless = drops.first(where: { $0.onPath && !$0.isCopy && $0.drop.reasonName == "NO_SOCKET" }),
            let index = findings.firstIndex(where: { $0.code == .portClosed })
        else { return }
        findings[index] = findings[index].adding(evidence: ["the kernel: \(socketless.summary): the kernel agrees"])
    }

    /// The verdicts a reason confirms: a drop they already explain stays theirs.
    static let agrees: [String: [FindingCode]] = [
        "NETFILTER_DROP": [.firewallDrop, .policyDenied], "IP_INNOROUTES": [.noRoute, .ipForwardDisabled],
        "IP_OUTNOROUTES": [.noRoute], "IP_INADDRERRORS": [.ipForwardDisabled, .noRoute], "NEIGH_FAILED": [.neighborFailed],
        "NEIGH_QUEUEFULL": [.neighborFailed],
        "NO_SOCKET": [.portClosed], "PKT_TOO_BIG": [.mtuMismatch, .pmtuBlackhole], "DEV_READY": [.linkDown],
        "OTHERHOST": [.neighborMACMismatch],
    ]

    static func finding(_ fact: KernelDropFact, evidence: [String]) -> Finding {
        let reason = fact.drop.reasonName
        switch reason {
        case "IP_RPFILTER":
            return Finding(
                .rpFilterDrop, .error,
                "Reverse-path filtering dropped the probe on \(fact.place): the route back to \(fact.drop.source) does not leave by the interface it came in on.",
                hop: fact.place,
                evidence: evidence + [
                    "arrived on \(fact.place)",
                    fact.reverseRoute.map { "the route back to \(fact.drop.source) leaves by \($0)" } ?? "the route back was not looked up",
                ],
                remedy:
                    "Set rp_filter to 2 (loose) or 0 on that interface and on \"all\" (the kernel uses the larger of the two), or route the traffic symmetrically."
            )
        case "TC_INGRESS", "TC_EGRESS", "XDP", "TCX_INGRESS", "TCX_EGRESS":
            let ingress = reason != "TC_EGRESS" && reason != "TCX_EGRESS"
            let culprits = fact.programs.filter { $0.point.isIngress == ingress && $0.canDrop }
            let named = culprits.isEmpty ? fact.programs : culprits
            return Finding(
                .bpfProgramDrop, .error,
                "A BPF program\(named.first.map { " (\($0.program.name)\($0.program.owner.map { ", \($0)" } ?? ""))" } ?? "")"
                    + " dropped the probe at \(reason.lowercased().replacingOccurrences(of: "_", with: " ")) of \(fact.place).",
                hop: fact.place,
                evidence: evidence
                    + (named.isEmpty
                        ? ["no program was found attached there when read (it may have been replaced since)"]
                        : named.map { "attached: \($0.summary)" }),
                remedy: remedy(for: named.first))
        default:
            return Finding(
                .kernelDrop, .error, "The kernel dropped the probe on \(fact.place): \(reason) (\(meaning(reason))).",
                hop: fact.place, evidence: evidence,
                remedy: "The reason and the function name where the kernel decided; see the kernel's enum skb_drop_reason for its meaning.")
        }
    }

    static func remedy(for attached: AttachedProgram?) -> String {
        switch attached?.program.owner {
        case "Cilium":
            "Cilium's datapath dropped it: cilium-dbg monitor --type drop (or hubble observe --verdict DROPPED) names the reason."
        case "Calico": "Calico's eBPF dataplane dropped it: check the policies that select these pods, and calico-node's BPF counters."
        case let owner?: "Its owner (\(owner)) decides what it drops; bpftool prog show id \(attached!.program.id) shows it."
        case nil:
            "Find who attached it (bpftool prog show id \(attached.map { String($0.program.id) } ?? "N"), bpftool net show), and remove or fix it."
        }
    }

    /// Short meanings of the reasons a probe meets most; any other is named as the kernel names it.
    static func meaning(_ reason: String) -> String {
        [
            "NO_SOCKET": "nothing listens there", "OTHERHOST": "the packet was addressed to another host's MAC",
            "IP_INADDRERRORS": "the destination address is not valid here", "IP_NOPROTO": "no handler for the protocol",
            "NEIGH_FAILED": "the next hop's link-layer address never resolved",
            "NEIGH_QUEUEFULL": "too many packets waited for the neighbour",
            "UNICAST_IN_L2_MULTICAST": "a unicast IP packet in a multicast frame", "NETFILTER_DROP": "a netfilter rule dropped it",
            "IP_OUTNOROUTES": "no route out", "IP_INNOROUTES": "no route for the arriving packet",
            "PKT_TOO_BIG": "larger than the path allows",
            "DEV_READY": "the device was not up", "TC_INGRESS": "a tc ingress program", "TC_EGRESS": "a tc egress program",
            "XDP": "an XDP program", "SOCKET_FILTER": "a socket filter", "TCP_RESET": "TCP reset the connection",
            "IPV6DISABLED": "IPv6 is disabled on the interface", "QDISC_DROP": "the queueing discipline dropped it",
        ][reason] ?? "the kernel's reason"
    }

    /// Without --drop-reasons: a loss nothing else explains, at a hop whose interface runs a
    /// program that can drop, names the program as the likely cause, and how to confirm it.
    public static func likelyProgram(hops: [ObservedHop], programs: [String: [AttachedProgram]], explained: Bool) -> [Finding] {
        guard !explained else { return [] }
        // The last hop that saw the request, and the one after it: a drop there stops it.
        guard let last = hops.lastIndex(where: { $0.requestSeen == true }) else { return [] }
        let candidates = [hops[last]] + (last + 1 < hops.count ? [hops[last + 1]] : [])
        guard let (hop, attached) = candidates.lazy.compactMap({ hop in programs[hop.name].flatMap { $0.isEmpty ? nil : (hop, $0) } }).first
        else { return [] }
        let whose = hop.name == hops[last].name ? "whose interface" : "and \(hop.name), the next interface,"
        return [
            Finding(
                .bpfProgramDrop, .warning,
                "The request was last seen at \(hops[last].name), \(whose) runs \(attached.count == 1 ? "a BPF program" : "BPF programs"): likely what dropped it.",
                hop: hop.name, evidence: attached.map { "attached: \($0.summary)" },
                remedy: "Confirm with trace --drop-reasons (the kernel then says which program dropped it and why). "
                    + remedy(for: attached.first))
        ]
    }
}

/// What Calico's eBPF counters (cali_countersN) said around the probe.
public struct CalicoObservation: Sendable, Equatable {
    public var drops: [CalicoDrop]
    /// The layout read ("cali_counters3, Calico 3.30"), or why the counters were not read.
    public var layout: String
    public var problem: String?

    public init(drops: [CalicoDrop], layout: String, problem: String? = nil) {
        self.drops = drops
        self.layout = layout
        self.problem = problem
    }
}

extension KernelDrops {
    /// BPF_PROGRAM_DROP in Calico's words: a drop counter of its eBPF dataplane that moved on an
    /// interface of the path while the probe was lost, placed at that hop (`hops`: the path's
    /// interfaces on this node by index). Its programs count per interface and hook, so the
    /// counter names the place, and other traffic's drops there in the same moment count too.
    public static func judgeCalico(
        _ observation: CalicoObservation, reachable: Bool, hops: [Int32: String], findings: inout [Finding]
    ) {
        if let problem = observation.problem {
            findings.append(
                Finding(
                    .bpfProgramDrop, .info, "Calico's eBPF counters were not read: \(problem).",
                    remedy: "calico-node -bpf counters dump on the node shows them; the trace's verdict stands without them."))
            return
        }
        let onPath = observation.drops.filter { hops[Int32(bitPattern: $0.key.interfaceIndex)] != nil }
        guard !reachable, let first = onPath.first else { return }
        let place = hops[Int32(bitPattern: first.key.interfaceIndex)]!
        // The kernel's or the guess's view of the same drop is Calico's: one finding.
        findings.removeAll { $0.code == .bpfProgramDrop }
        let interface = place.split(separator: ":").last.map(String.init) ?? "IFACE"
        let evidence =
            onPath.map {
                "\(observation.layout): interface \($0.key.interfaceIndex), \($0.key.hookName): \"\($0.reasonText)\" +\($0.packets) during the probe"
            } + ["the counters are the interface's: drops of other traffic there in the same moment count too"]
        // Its policy's drop is POLICY_DENIED, as every engine's is; the rest are the program's.
        findings.append(
            first.reason == 4
                ? PolicyDenied.byDatapath(
                    "Calico's eBPF dataplane dropped the probe at \(place) (\(first.key.hookName)) by policy.", hop: place,
                    evidence: evidence,
                    remedy:
                        "A Calico policy (or a Kubernetes NetworkPolicy) denies it: calicoctl get networkpolicy, and calico-node -bpf policy dump \(interface) all shows the program's rules."
                )
                : Finding(
                    .bpfProgramDrop, .error,
                    "Calico's eBPF dataplane dropped the probe at \(place) (\(first.key.hookName)): \(first.reasonText).", hop: place,
                    evidence: evidence,
                    remedy: "calico-node -bpf counters dump --iface=\(interface) shows the counters; the reason is Calico's own."))
    }
}

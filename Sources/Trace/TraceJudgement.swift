import Capture
import Checks
import ConfigFormats
import Diagnosis
import NetAddress
import PathFacts
import PathMTU
import Pods

/// A trace judged: the static checks on the path's facts, then what the probe showed (firewall
/// counters that moved, the remote half, the MTU measured, what each hop saw) into the verdict.
/// Pure: the same facts give the same report, live or replayed from a recording.
public enum TraceJudgement {
    public static func judge(_ ends: TraceEnds, facts: PathFacts, probe: ProbeFacts?, mtuRemedy: () -> String) -> TraceReport {
        var facts = facts
        facts.probeAnswered = probe?.outcome.reachable
        var findings = PathChecks.run(facts)
        guard let probe else {
            return TraceReport(
                ends: ends, hops: facts.hops.map { ObservedHop($0) }, reachable: false, probe: "no probe sent", findings: findings)
        }
        // The path's hops and what the probe saw at each (a recording of another path: nothing).
        var hops = ObservedHop.pairing(facts.hops, probe.seen.count == facts.hops.count ? probe.seen : [])
        let labels = facts.namespaces.map(\.label)
        findings += FirewallDrop.unreadable(probe.firewallBefore, labels: labels)
        findings += probe.agentFindings + (probe.remote?.findings ?? [])
        let policyProbe = probe.sent.map { sent in
            PolicyProbe(
                what: PolicyProbe.describe(sent.proto.rawValue, port: sent.port), isICMP: sent.proto == .icmp,
                source: ends.sourceAddress.description, pods: PolicyProbe.pods(of: facts, source: ends.source.label),
                destinationPod: facts.destination?.podName)
        }
        for (i, label) in labels.enumerated() where i < probe.firewallBefore.count && i < probe.firewallAfter.count {
            findings += FirewallDrop.findings(
                before: probe.firewallBefore[i] ?? [], after: probe.firewallAfter[i], in: label, probe: policyProbe)
        }
        if let queues = probe.queues, let node = facts.nodeNamespace {
            findings += QueuedPolicyChecks.findings(
                queues, in: node.label, source: ends.sourceAddress.description,
                destination: ends.destinationAddress.description, reachable: probe.outcome.reachable,
                reachedDestination: hops.contains { $0.role == .destination && $0.requestSeen == true },
                probe: policyProbe)
        }
        if let policyProbe {
            findings += PolicyDenied.icmpOnly(
                rules: probe.firewallAfter, labels: labels, probe: policyProbe, reachable: probe.outcome.reachable)
        }
        let dropped = probe.kernelDrops.map { observation -> KernelDropObservation in
            guard case .observed(let local, let lost) = observation else { return observation }
            // The remote half's drops, placed by its agent; the same drop seen from here (a lab's
            // nodes share one kernel) is the agent's.
            let remote = probe.remote?.kernelDrops ?? []
            let theirs = Set(remote.map { "\($0.drop.time)@\($0.drop.location)" })
            let drops = local.filter { $0.onPath || !theirs.contains("\($0.drop.time)@\($0.drop.location)") } + remote
            return .observed(
                KernelDrops.sortCopies(
                    drops, hops: hops + (probe.remote?.hops ?? []), reachable: probe.outcome.reachable, source: ends.sourceAddress),
                lost: lost)
        }
        if let dropped { KernelDrops.judge(dropped, portClosed: probe.outcome.portClosed, findings: &findings) }
        if !probe.outcome.reachable, !findings.contains(where: { $0.code == .neighborFailed }) {
            findings += NeighborChecks.afterProbe(facts, explained: findings.contains { $0.severity == .error })
        }
        if let path = probe.mtuPath { findings += mtuFindings(path, ends: ends, remote: probe.remote, remedy: mtuRemedy) }
        findings += CaptureReport.incompleteHops(probe.outcome.captureProblems + (probe.remote?.problems ?? []))
        if let calico = probe.calico {
            // The path's interfaces on this node, by index (where Calico's programs count).
            var places: [Int32: String] = [:]
            for hop in hops where hop.node == nil && hop.namespace?.isNode == true {
                if let index = hop.link?.index { places[index] = hop.name }
            }
            KernelDrops.judgeCalico(calico, reachable: probe.outcome.reachable, hops: places, findings: &findings)
        }
        findings += probe.ciliumEndpoints.flatMap(\.findings)
        if let cilium = probe.cilium {
            let places = (
                ingress: hops.last { $0.role == .destinationHostSide && $0.node == nil }?.name,
                egress: hops.first { $0.role == .hostSide && $0.node == nil }?.name
            )
            CiliumDrops.judge(cilium, reachable: probe.outcome.reachable, at: places, findings: &findings)
        }
        if probe.kernelDrops == nil, !probe.outcome.reachable, !probe.outcome.portClosed,
            !findings.contains(where: { [.ciliumDrop, .bpfProgramDrop, .policyDenied].contains($0.code) && $0.severity == .error })
        {
            findings += KernelDrops.likelyProgram(
                hops: hops, programs: probe.hopPrograms, explained: findings.contains { $0.severity == .error })
        }
        hops += probe.remote?.hops ?? []
        findings = ProbeVerdict.explain(
            source: ends.source.label, destination: ends.destinationName, hops: hops, outcome: probe.outcome,
            findings: findings, remoteVTEP: facts.node?.remoteAddress,
            hasDestination: facts.destination != nil || probe.remote?.hasDestination == true,
            remoteNode: probe.remote?.node)
        KernelDrops.confirmPortClosed(dropped, findings: &findings)
        // The kernel saw the drop on this node: the loss is not past it.
        if case .observed(let drops, _) = dropped, drops.contains(where: { $0.onPath && !$0.isCopy }) {
            findings.removeAll { $0.code == .lostBeyondNode }
        }
        findings += RuleTraceFindings.problems(probe.ruleTraces)
        var report = TraceReport(
            ends: ends, hops: hops, reachable: probe.outcome.reachable, probe: probe.outcome.description, findings: findings)
        report.ruleTraces = probe.ruleTraces
        report.hopPrograms = probe.hopPrograms
        if case .observed(let drops, _) = dropped { report.kernelDrops = drops }
        return report
    }

    /// MTU_MISMATCH and PMTU_BLACKHOLE from the path MTU search; mtu-probe names hops by
    /// namespace, a trace by pod, where the MTU is set.
    static func mtuFindings(_ path: ProbedPath, ends: TraceEnds, remote: RemoteHalfView?, remedy: () -> String) -> [Finding] {
        let sourceHop = "\(ends.source.label):\(path.interfaces.first { $0.role == .source }?.name ?? "eth0")"
        let local = MTUChecks.findings(for: path, at: sourceHop, remedy: remedy).filter { $0.code != .probeNoAnswer }
        // The destination on the remote node, with the MTU its agent reported.
        guard let remote else { return local }
        return local + MTUChecks.remoteFindings(for: path, remote: remote.pathInterfaces, node: remote.node, remedy: remedy)
    }

    /// The ends as a recording keeps them, to name the same pods when replayed.
    public static func json(_ ends: TraceEnds) -> ConfigValue {
        func pod(_ pod: Pod) -> ConfigValue {
            .fields([
                "namespace": .text(pod.namespace), "name": .string(pod.name), "sandboxID": .string(pod.containerID),
                "interface": .string(pod.primaryInterface), "addresses": .texts(pod.addresses.map(\.description)),
            ])
        }
        return .fields([
            "source": pod(ends.source), "sourceAddress": .string(ends.sourceAddress.description),
            "destinationName": .string(ends.destinationName), "destinationAddress": .string(ends.destinationAddress.description),
            "destinationPod": ends.destinationPod.map(pod) ?? .null,
        ])
    }
}

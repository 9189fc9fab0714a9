import Diagnosis
import Firewall
import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import PathMTU
import Pods

/// What a trace probes with.
public enum TraceProtocol: String, Sendable, CaseIterable { case icmp, tcp, udp }

/// Walks the path between two pods as the kernel routes it, checks every hop, sends a probe
/// while capturing at every hop and reading firewall counters, and explains the outcome.
public struct Tracer {
    public var directory: NamespaceDirectory
    public var timeoutMilliseconds: Int32
    public var proto: TraceProtocol
    public var port: UInt16?
    /// How to fix the pod MTU with this node's CNI, for MTU findings: asked only when there is one
    /// (it reads the node's CNI config).
    public var mtuRemedy: () -> String
    /// The remote node's agent, for a destination past this node; nil: this node's view only.
    public var agents: AgentLocator?

    public init(directory: NamespaceDirectory, timeoutMilliseconds: Int32, proto: TraceProtocol, port: UInt16?, agents: AgentLocator? = nil,
                mtuRemedy: @escaping () -> String) {
        self.directory = directory
        self.timeoutMilliseconds = timeoutMilliseconds
        self.proto = proto
        self.port = port
        self.agents = agents
        self.mtuRemedy = mtuRemedy
    }

    public func trace(_ ends: TraceEnds) throws -> TraceReport {
        var walk = try PathWalk.walk(ends, directory: directory)
        guard walk.sourceHasRoute else {
            return TraceReport(ends: ends, hops: walk.hops, reachable: false, probe: "no probe sent", findings: walk.findings)
        }
        var findings = walk.findings
        // The remote node's half, watched by its agent from before the probe leaves. Its two
        // calls run beside this node's own set-up and tear-down (each costs the remote kernel
        // what the local captures cost this one).
        let opening = agents.flatMap { locate in
            RemoteHalfCall.request(walk: walk, ends: ends, windowMilliseconds: Int(timeoutMilliseconds) + 5000, proto: proto,
                                   port: ProbeSignature.port(for: proto, given: port))
                .map { request in Pending { RemoteHalfCall.open(request, locate: locate) } }
        }
        var finishing: Pending<(RemoteHalfView?, [Finding])>? = nil
        // The probe, with captures at every hop and firewall counters around it.
        let firewallNamespaces = walk.snapshots.map { $0.known.name == "node" ? nil : $0.opened }
        let firewallRead = FirewallReader.readAll(in: firewallNamespaces)
        findings += FirewallDelta.unreadable(firewallRead, labels: walk.snapshots.map(\.label))
        let firewallBefore = firewallRead.map { $0 ?? [] }
        let probed = Result {
            try ActiveProbe.run(from: walk.source, ends: ends, hops: &walk.hops, proto: proto, port: port, timeoutMilliseconds: timeoutMilliseconds,
                                directory: directory, beforeProbe: { _ = opening?.wait() }, afterProbe: { signature in
                if let call = opening?.wait().0 { finishing = Pending { call.finish(signature: signature) } }
            })
        }
        let (opened, agentFindings) = opening?.wait() ?? (nil, [])
        if finishing == nil { opened?.abandon() }  // the probe failed before it left
        let (remote, remoteFindings) = finishing?.wait() ?? (nil, [])
        var outcome = try probed.get()
        findings += agentFindings + remoteFindings + (remote?.findings ?? [])
        let firewallAfter = FirewallReader.readAll(in: firewallNamespaces).map { $0 ?? [] }
        for (i, snapshot) in walk.snapshots.enumerated() {
            findings += FirewallDelta.findings(before: firewallBefore[i], after: firewallAfter[i], in: snapshot.label)
        }
        // A next hop nobody had asked for before has a neighbour entry only now, after the probe.
        if !outcome.reachable, let nextHop = walk.nextHop, let node = walk.node, !findings.contains(where: { $0.code == .neighborFailed }),
           let neighbors = try? NamespaceReader.readNeighbors(socket: node.socket) {
            var refreshed = node
            refreshed.state.neighbors = neighbors.filter { $0.family != Neighbor.familyBridge }
            findings += NodeChecks.neighbor(nextHop.address, on: nextHop.link, in: refreshed)
        }
        // Small probes crossing says little about large ones: measure the path MTU with DF probes.
        if outcome.reachable, ends.destinationPod?.fullName != ends.source.fullName {
            findings += measureMTU(ends, sourceNamespace: walk.sourceNamespace, remote: remote)
        }
        outcome.captureProblems += remote?.problems ?? []
        if !outcome.captureProblems.isEmpty {
            findings.append(Finding(.captureDropped, .warning, "Some hops were not watched for the whole probe: what they saw is incomplete.",
                                    hop: nil, evidence: outcome.captureProblems,
                                    remedy: "Trace again; if an interface vanished, inspect the pod (netdoctor inspect) to see what changed."))
        }
        let hops = walk.hops + (remote?.hops ?? [])
        findings = Verdict.explain(ends: ends, hops: hops, outcome: &outcome, findings: findings, remoteVTEP: walk.remoteVTEP,
                                   hasDestination: walk.hasLocalDestination || remote?.hasDestination == true, remoteNode: remote?.node)
        return TraceReport(ends: ends, hops: hops, reachable: outcome.reachable, probe: outcome.description, findings: findings)
    }

    /// MTU_MISMATCH and PMTU_BLACKHOLE from a path MTU search between the two ends.
    func measureMTU(_ ends: TraceEnds, sourceNamespace: KnownNamespace, remote: RemoteHalfView?) -> [Finding] {
        let prober = MTUProber(directory: directory, timeoutMilliseconds: min(timeoutMilliseconds, 300))
        guard let path = try? prober.probe(from: ProbeSource(name: ends.source.name, namespace: sourceNamespace, pod: ends.source),
                                           to: ends.destinationAddress, named: ends.destinationName) else { return [] }
        // mtu-probe names hops by namespace; a trace names them by pod, where the MTU is set.
        let sourceHop = "\(ends.source.name):\(path.interfaces.first { $0.role == .source }?.name ?? "eth0")"
        let local = prober.findings(for: path, remedy: mtuRemedy()).filter { $0.code != .probeNoAnswer }.map {
            var finding = $0
            finding.hop = sourceHop
            return finding
        }
        // The destination on the remote node, with the MTU its agent reported.
        guard let remote else { return local }
        return local + prober.remoteFindings(for: path, remote: remote.pathInterfaces, node: remote.node, remedy: mtuRemedy())
    }
}

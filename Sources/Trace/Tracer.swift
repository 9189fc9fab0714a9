import BPF
import CalicoBPF
import Checks
import Cilium
import ConfigFormats
import Diagnosis
import Firewall
import Hubble
import KernelState
import NetAddress
import Netlink
import NetSystem
import PathFacts
import PathMTU
import Pods

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// What a trace probes with.
public enum TraceProtocol: String, Sendable, CaseIterable { case icmp, tcp, udp }

/// Traces the path between two pods in three steps: gather the path's facts (every namespace on
/// it opened and read once), send a probe while capturing at every hop and reading firewall
/// counters around it (with the remote node's agent watching its half), then judge it all with
/// pure checks (`TraceJudgement`).
public struct Tracer {
    /// This node's kernel; a trace reads each namespace through it once.
    public var node: LiveNode
    public var timeoutMilliseconds: Int32
    public var proto: TraceProtocol
    public var port: UInt16?
    /// How to fix the pod MTU with this node's CNI, for MTU findings: asked only when there is one
    /// (it reads the node's CNI config).
    public var mtuRemedy: () -> String
    /// The remote node's agent, for a destination past this node; nil: this node's view only.
    public var agents: AgentLocator?
    /// --trace-rules: nftrace the request in each namespace on this node's part of the path.
    public var traceRules = false
    /// --drop-reasons: the kernel's reason for each of the probe's packets it drops (a BPF
    /// program on skb:kfree_skb, loaded for the probe only).
    public var dropReasons = false
    /// Cilium's pinned maps on this node, when it runs Cilium: its drop counters are read around
    /// the probe.
    public var cilium: CiliumDatapath?
    /// Calico's eBPF counters on this node (under the root), when it runs that dataplane.
    public var calico: (path: String, layout: CalicoCountersLayout?, shape: String)?
    /// Hubble's socket on this node (under the root), when it has one: asked for the probe's
    /// flows when Cilium's node lost it.
    public var hubbleSocket: String?

    public init(
        node: LiveNode, timeoutMilliseconds: Int32, proto: TraceProtocol, port: UInt16?, agents: AgentLocator? = nil,
        mtuRemedy: @escaping () -> String
    ) {
        self.node = node
        self.timeoutMilliseconds = timeoutMilliseconds
        self.proto = proto
        self.port = port
        self.agents = agents
        self.mtuRemedy = mtuRemedy
    }

    public func trace(_ ends: TraceEnds) throws -> TraceReport {
        node.recordAlongside("trace-ends.json", JSONWriter.bytes(TraceJudgement.json(ends)))
        var facts = try PathGatherer(access: node, datapathTunnel: cilium.map { CiliumTunnel.decider($0, node: node) }).local(
            from: try node.namespace(of: ends.source), label: ends.source.label,
            sourceAddress: ends.sourceAddress, to: ends.destinationAddress,
            destinationName: ends.destinationName, destinationPod: ends.destinationPod)
        // No route at all from the source: nothing is worth sending.
        guard facts.sourceHasRoute, let sourceFacts = facts.sourceNamespace else {
            return TraceJudgement.judge(ends, facts: facts, probe: nil, mtuRemedy: mtuRemedy)
        }
        let source: NamespaceHandle
        do {
            source = try node.handle(sourceFacts.known)
            // Every namespace of the path is watched and its rules read: none may be missing then
            // (its captures and rules would be the node's).
            for namespace in facts.namespaces { _ = try node.handle(namespace.known) }
        } catch {
            // Read, but no longer open (the pod went away meanwhile): said, not a fault.
            facts.collectionErrors.append(
                .init(place: sourceFacts.label, what: "no probe sent: a namespace of the path could not be opened again: \(error)"))
            return TraceJudgement.judge(ends, facts: facts, probe: nil, mtuRemedy: mtuRemedy)
        }
        let probe = try send(ends, facts: &facts, from: source)
        node.recordAlongside("probe.json", JSONWriter.bytes(probe.json))
        return TraceJudgement.judge(ends, facts: facts, probe: probe, mtuRemedy: mtuRemedy)
    }

    /// Sends the probe from the source, with captures at every hop and firewall counters read
    /// around it, and the remote half watched by its agent; then what only a sent packet shows.
    func send(_ ends: TraceEnds, facts: inout PathFacts, from source: NamespaceHandle) throws -> ProbeFacts {
        let opened = { (known: KnownNamespace) throws -> NetNamespace in try node.handle(known).opened }
        // The remote node's half, watched by its agent from before the probe leaves. Its two
        // calls run beside this node's own set-up and tear-down (each costs the remote kernel
        // what the local captures cost this one).
        let opening = agents.flatMap { locate in
            RemoteHalfCall.request(
                facts: facts, ends: ends, windowMilliseconds: Int(timeoutMilliseconds) + 5000, proto: proto,
                port: ProbeSignature.port(for: proto, given: port), dropReasons: dropReasons
            )
            .map { request in Pending { RemoteHalfCall.open(request, locate: locate) } }
        }
        var finishing: Pending<(RemoteHalfView?, [Finding])>? = nil
        let firewallNamespaces = try facts.namespaces.map { try node.handle($0.known).sockets }
        let tracing = traceRules ? startRuleTraces(ends, facts: facts, namespaces: firewallNamespaces) : []
        let hopPrograms = KernelDropWatch.programs(on: facts, node: node)
        // Attached last, just before the probe, and detached right after it: nothing else is watched.
        let dropTracer =
            dropReasons
            ? Result { () throws(BPFError) in
                try DropReasonTracer.start(flows: KernelDropWatch.flows(ends, proto: proto, port: port))
            } : nil
        let family = ends.destinationAddress.family
        let firewallBefore = FirewallReader.readAll(in: firewallNamespaces, family: family)
        let ciliumBefore = cilium?.metrics()
        let calicoBefore = calico.flatMap { found in found.layout.map { CalicoCounters.read(path: found.path, layout: $0) } }
        // Hubble keeps flows by time: the probe's are those from about now on.
        let sentAt = Double(time(nil))
        // A userspace policy engine's queues on this node (its process runs where netdoctor does).
        let nodeRules = facts.namespaces.indices.first { facts.namespaces[$0].known.isNode }.flatMap { firewallBefore[$0] } ?? []
        let queuePolicies = QueuedPolicy.read(in: node.nodeSockets, iptables: nodeRules)
        let listenersBefore = queuePolicies.isEmpty ? [] : QueueListener.readHere()
        let probed = Result {
            try ActiveProbe.run(
                from: source, ends: ends, hops: facts.hops, proto: proto, port: port, timeoutMilliseconds: timeoutMilliseconds,
                namespaces: opened, beforeProbe: { _ = opening?.wait() },
                afterProbe: { signature in
                    if let call = opening?.wait().0 { finishing = Pending { call.finish(signature: signature) } }
                })
        }
        let (call, openFindings) = opening?.wait() ?? (nil, [])
        if finishing == nil { call?.abandon() }  // the probe failed before it left
        let (remote, finishFindings) = finishing?.wait() ?? (nil, [])
        let ruleTraces = finishRuleTraces(tracing)
        let dropped = dropTracer.map { started in
            switch started {
            case .success(let tracer):
                let result = tracer.finish()
                node.recordAlongside("drop-events.bin", result.records.joined().map { $0 })
                return KernelDropWatch.place(KernelDropWatch.ours(result, ends: ends, facts: facts), facts: facts, node: node)
            case .failure(let error): return KernelDropObservation.unavailable(error.description)
            }
        }
        let (outcome, seen) = try probed.get()
        let firewallAfter = FirewallReader.readAgain(firewallBefore, in: firewallNamespaces, family: family)
        let ciliumAfter = cilium?.metrics()
        let calicoAfter = calico.flatMap { found in found.layout.map { CalicoCounters.read(path: found.path, layout: $0) } }
        PathGatherer(access: node).afterProbe(&facts, answered: outcome.reachable)
        var probe = ProbeFacts(
            outcome: outcome, seen: seen, firewallBefore: firewallBefore,
            firewallAfter: firewallAfter, remote: remote, agentFindings: openFindings + finishFindings)
        probe.sent = (proto, ProbeSignature.port(for: proto, given: port))
        probe.ruleTraces = ruleTraces
        probe.kernelDrops = dropped
        if let cilium, let ciliumBefore, let ciliumAfter {
            probe.cilium = Self.observe(cilium, before: ciliumBefore, after: ciliumAfter)
            if !outcome.reachable, let hubbleSocket {
                do throws(HubbleError) {
                    probe.cilium?.hubble = try HubbleClient.flows(
                        socket: hubbleSocket, between: ends.sourceAddress, and: ends.destinationAddress, since: sentAt - 1)
                } catch {
                    probe.cilium?.hubbleProblem = error.description
                }
            }
            if probe.cilium?.drops.isEmpty == false {
                probe.cilium?.identities =
                    Self.identities(cilium, of: [ends.sourceAddress, ends.destinationAddress])
                    + CiliumPolicyWatch.replays(cilium, ends: ends, proto: proto, port: ProbeSignature.port(for: proto, given: port))
            }
        }
        probe.hopPrograms = hopPrograms.byHop
        if let calico { probe.calico = Self.observe(calico, before: calicoBefore, after: calicoAfter) }
        if let cilium { probe.ciliumEndpoints = CiliumTunnel.endpoints(cilium, ends: ends, hops: facts.hops, programs: hopPrograms.byHop) }
        facts.collectionErrors += hopPrograms.problems.map { .init(place: "BPF programs", what: $0) }
        if !queuePolicies.isEmpty {
            probe.queues = QueueObservation(policies: queuePolicies, before: listenersBefore, after: QueueListener.readHere())
        }
        // Small probes crossing says little about large ones: measure the path MTU with DF probes.
        if outcome.reachable, ends.destinationPod?.fullName != ends.source.fullName {
            do {
                probe.mtuPath = try MTUProber(timeoutMilliseconds: min(timeoutMilliseconds, 300))
                    .probe(
                        in: source, source: ends.source.label, interfaces: PathInterfaces.from(facts), to: ends.destinationAddress,
                        named: ends.destinationName, node: node.nodeSockets)
            } catch {
                facts.collectionErrors.append(.init(place: ends.source.label, what: "the path MTU was not measured: \(error)"))
            }
        }
        return probe
    }

    /// Calico's drop counters that moved around the probe, or why they could not be read.
    static func observe(
        _ calico: (path: String, layout: CalicoCountersLayout?, shape: String), before: Result<[CalicoCounterKey: [UInt64]], BPFError>?,
        after: Result<[CalicoCounterKey: [UInt64]], BPFError>?
    ) -> CalicoObservation {
        guard let layout = calico.layout else {
            return CalicoObservation(drops: [], layout: calico.shape, problem: "\(calico.shape): no layout Calico 3.26 to 3.31 writes")
        }
        let name = "\(layout.name) (Calico \(layout.releases))"
        switch (before, after) {
        case (.success(let before)?, .success(let after)?):
            return CalicoObservation(drops: CalicoCounters.drops(before: before, after: after), layout: name)
        case (.failure(let error)?, _), (_, .failure(let error)?):
            return CalicoObservation(drops: [], layout: name, problem: error.description)
        default: return CalicoObservation(drops: [], layout: name)
        }
    }

    /// Cilium's drop counters that moved around the probe, or why they could not be read.
    static func observe(
        _ cilium: CiliumDatapath, before: Result<CiliumMetrics, BPFError>, after: Result<CiliumMetrics, BPFError>
    ) -> CiliumObservation {
        switch (before, after) {
        case (.success(let before), .success(let after)): CiliumObservation(drops: after.drops(since: before), releases: cilium.releases)
        case (.failure(let error), _), (_, .failure(let error)):
            CiliumObservation(drops: [], releases: cilium.releases, problem: error.description)
        }
    }

    /// What the ipcache says of each address: its identity, or that it has none.
    static func identities(_ cilium: CiliumDatapath, of addresses: [IPAddress]) -> [String] {
        addresses.map { address in
            switch cilium.identity(of: address) {
            case .success(let found?):
                "ipcache: \(address) is identity \(found.identity)\(found.reservedName.map { " (\($0))" } ?? "")"
                    + (found.tunnelEndpoint.map { ", tunnelled to \($0)" } ?? "")
            case .success(nil): "ipcache: no entry for \(address) (the datapath takes it as world)"
            case .failure(let error): "ipcache: \(address) not looked up: \(error)"
            }
        }
    }

    /// A tracing table in each namespace on the path, before anything is sent.
    func startRuleTraces(
        _ ends: TraceEnds, facts: PathFacts, namespaces: [NetlinkSockets]
    ) -> [(label: String, trace: Result<RuleTrace, RuleTraceError>)] {
        let match = RuleTraceMatch(
            source: ends.sourceAddress.description, destination: ends.destinationAddress.description, proto: proto.rawValue,
            port: ProbeSignature.port(for: proto, given: port))
        return zip(facts.namespaces, namespaces).map { facts, namespace in
            (facts.label, Result { () throws(RuleTraceError) -> RuleTrace in try RuleTrace.start(in: namespace, match: match) })
        }
    }

    /// The rules each namespace's trace heard; every table removed, whatever happened.
    func finishRuleTraces(_ tracing: [(label: String, trace: Result<RuleTrace, RuleTraceError>)]) -> [RuleTraceView] {
        tracing.map { label, trace in
            switch trace {
            case .success(let trace):
                let (rules, problem) = trace.finish()
                return RuleTraceView(label: label, rules: rules, problem: problem, leftTable: problem == nil ? nil : trace.table)
            case .failure(let error):
                return RuleTraceView(label: label, rules: [], problem: error.description)
            }
        }
    }
}

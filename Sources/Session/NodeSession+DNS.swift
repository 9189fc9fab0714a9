import Checks
import CNIDetection
import DNS
import Firewall
import Diagnosis
import NetAddress
import NetSystem
import Pods
import Services
import Trace

extension NodeSession {
    /// dns POD [NAME]: the pod's resolv.conf where its runtime keeps it, the kubelet's DNS
    /// settings, and every query the pod's resolver would send for NAME (each search-list name,
    /// A and AAAA, to each nameserver, over UDP and TCP), sent from the pod's own namespace side
    /// by side: a dead nameserver costs one timeout, not one per query.
    public func dns(pod query: String, name text: String?, timeoutMilliseconds: Int32?, slowMilliseconds: Double) throws -> DNSReport {
        let pod = try pods.find(query)
        let namespace = try node.handle(try node.namespace(of: pod)).opened
        let file = try resolvConf(of: pod, namespace: namespace)
        let conf = ResolvConf.parse(file.text)
        let kubelet = dnsSettings()
        let nodeConf = kubelet.flatMap { try? root.readText($0.resolvConf, limit: 64 << 10) }.map(ResolvConf.parse)
        let defaultName = "kubernetes.default"  // every cluster has it: the API server's Service
        guard let name = DNSName(text ?? defaultName) else {
            throw SessionError("dns: \(text ?? "") is not a DNS name (labels of letters, digits, '-' and '_', 63 bytes each, 255 in all)")
        }
        let timeout = timeoutMilliseconds ?? Int32(conf.timeoutSeconds * 1000)
        let control = DNSName("kubernetes.default.svc.\(kubelet?.clusterDomain ?? "cluster.local").")
        let exchanges = SideBySide.map(conf.queries(for: name, control: control)) { query, server, transport in
            DNSClient.exchange(query, server: server, transport: transport, in: namespace, timeoutMilliseconds: timeout)
        }
        var facts = DNSFacts(
            pod: pod.fullName, podNamespace: pod.namespace, resolvConfPath: file.path, resolvConf: conf, kubelet: kubelet,
            nodeResolvConf: nodeConf, name: name, exchanges: exchanges, slowMilliseconds: slowMilliseconds)
        facts.controlName = control
        facts.burst = conntrackRaceProbe(facts, in: namespace, timeoutMilliseconds: timeout)
        facts.nodeLocal = nodeLocalDNS()
        var (extra, traces) = nameserverServices(&facts, pod: query, timeoutMilliseconds: timeout)
        if let problem = facts.nodeLocal?.linkProblem {
            extra.append(
                CollectionFailed.finding(
                    ["the node's links were not read (\(problem)): NodeLocal DNSCache's link not judged"],
                    place: "node"))
        }
        return DNSReport(facts: facts, extraFindings: extra, serviceTraces: traces)
    }

    /// The pod's resolv.conf where its runtime keeps it, else as a process in its namespace sees it.
    func resolvConf(of pod: Pod, namespace: NetNamespace) throws -> (path: String, text: String) {
        switch PodResolvConf.read(sandbox: pod.containerID, root: root) {
        case .success(let found):
            return found
        case .failure(let error):
            guard let seen = PodResolvConf.fromProcess(in: namespace.identity) else {
                throw SessionError("dns: \(pod.fullName): \(error); no process in its network namespace shows one either")
            }
            return seen
        }
    }

    /// What kube-proxy's table says of each nameserver that is a Service address: its endpoints
    /// (into the facts), UDP conntrack entries left pointing at endpoints that are gone; when it
    /// failed, the Service's verdicts and its endpoints traced through it as the pod's own traffic
    /// goes, over TCP 53 (a DNS server answers a handshake; a UDP probe it would ignore), except
    /// where NodeLocal DNSCache takes the address.
    func nameserverServices(_ facts: inout DNSFacts, pod: String, timeoutMilliseconds: Int32) -> (findings: [Finding], traces: [any Report])
    {
        let servers = facts.nameservers
        let reading = ServiceReader.read(node: node.nodeSockets, bpfRoot: root)
        let served =
            reading.table?.entries.filter { entry in entry.frontends.contains { frontend in servers.contains { $0 == frontend.address } } }
            ?? []
        guard !served.isEmpty else { return ([], []) }
        let mode = reading.mode ?? .iptables
        var findings: [Finding] = []
        var traces: [any Report] = []
        for server in servers {
            let entries = served.filter { $0.frontends.contains { $0.address == server } }
            guard !entries.isEmpty else { continue }
            facts.serviceContext[server] = entries.map { entry in
                let endpoints = entry.endpoints.map(\.description).joined(separator: ", ")
                return
                    "\(entry.label) (\(entry.proto)), kube-proxy \(mode.rawValue) mode: \(entry.endpoints.isEmpty ? "no endpoints" : "endpoints \(endpoints)")"
            }
            guard !facts.exchanges(server: server).contains(where: { $0.response?.code == .noError }) else { continue }
            findings += ServiceChecks.judge(entries, mode: mode, named: true)
            if facts.nodeLocal?.inUse(podNameservers: facts.resolvConf.nameservers) != true,
                entries.contains(where: { $0.proto == "tcp" && !$0.endpoints.isEmpty })
            {
                do {
                    traces.append(
                        try trace(from: pod, to: "\(server):53", timeoutMilliseconds: min(timeoutMilliseconds, 1000), proto: .tcp, port: 53)
                    )
                } catch {
                    // Said, not dropped: the verdicts above stand, the trace that would explain them is missing.
                    findings.append(
                        CollectionFailed.finding(
                            ["the DNS Service \(server) was not traced over TCP 53 from \(pod): \(error)"],
                            place: "\(pod) → \(server):53"))
                }
            }
        }
        let addresses = Set(served.flatMap { $0.frontends.compactMap(\.address) }.filter(servers.contains))
        let found = ConntrackReader.entries(to: addresses, on: node.nodeSockets).entries.filter { $0.original.proto == 17 }
        findings += ServiceChecks.staleConntrack(found, table: ServiceTable(mode: mode, entries: served))
        return (findings, traces)
    }

    /// The conntrack race probe (DNSBurst) to the first nameserver, when it answered over UDP:
    /// 20 pairs, with the node's per-CPU counters read before and after.
    func conntrackRaceProbe(_ facts: DNSFacts, in namespace: NetNamespace, timeoutMilliseconds: Int32) -> DNSBurst? {
        // A name the server answered over UDP: the resolved one, else the control name.
        guard let server = facts.nameservers.first else { return nil }
        let answered = facts.exchanges(server: server, transport: .udp).filter { $0.response != nil }.map(\.name)
        guard let name = [DNSResolution(facts).name, facts.controlName].compactMap({ $0 }).first(where: answered.contains) else {
            return nil
        }
        let rounds = 20
        let before = ConntrackReader.statistics(on: node.nodeSockets).statistics
        guard
            let lost = DNSBurst.send(
                name: name, server: server, rounds: rounds, in: namespace, timeoutMilliseconds: min(timeoutMilliseconds, 1000))
        else {
            return nil
        }
        return DNSBurst(
            server: server, rounds: rounds, lost: lost, before: before, after: ConntrackReader.statistics(on: node.nodeSockets).statistics)
    }

    /// NodeLocal DNSCache's link (with its addresses) in the node's namespace, and its NOTRACK and
    /// ACCEPT rules (the tables that can drop, where raw is: one iptables-save).
    func nodeLocalDNS() -> NodeLocalDNS? {
        var link: NodeLocalDNS.LinkView?, linkProblem: String?
        do {
            let state = try kernel.open(kernel.node).state()
            link = state.link(named: NodeLocalDNS.linkName).map { link in
                NodeLocalDNS.LinkView(kind: link.kind, up: link.isUp, addresses: state.addresses(of: link.index).compactMap(\.address))
            }
        } catch {
            linkProblem = "\(error)"
        }
        var cache = NodeLocalDNS(link: link, notrackRules: [], acceptRules: [], rulesProblem: "iptables-save could not be run")
        cache.linkProblem = linkProblem
        guard let rules = FirewallReader.read(in: node.nodeSockets, dropping: true) else { return cache }
        cache.rulesProblem = nil
        cache.notrackRules = rules.filter { $0.table == "raw" && $0.specification.containsBytes(NodeLocalDNS.skipConntrack) }.map(\.text)
        cache.acceptRules = rules.filter { $0.table == "filter" && $0.specification.containsBytes(NodeLocalDNS.allowTraffic) }.map(\.text)
        return cache
    }

    /// The kubelet's clusterDNS, clusterDomain and resolvConf, when its files say anything.
    func dnsSettings() -> DNSFacts.Kubelet? {
        let settings = kubelet ?? KubeletReader.read(root: root)
        guard !settings.filesRead.isEmpty else { return nil }
        return DNSFacts.Kubelet(
            clusterDNS: (settings.clusterDNS ?? []).compactMap { IPAddress.parse($0) }, clusterDomain: settings.clusterDomain,
            resolvConf: settings.resolvConf, files: settings.filesRead)
    }
}

extension NodeSession {
    /// A trace destination that is a DNS name (dots, no slash, not an address; a port after a
    /// colon): its host and port. A name without dots stays a pod's or a Service's name.
    static func dnsDestination(_ destination: String) -> (host: String, port: UInt16?)? {
        guard IPAddress.parse(destination) == nil, !destination.contains("/"), destination.contains(".") else { return nil }
        let parts = destination.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let port = parts.count == 2 ? UInt16(parts[1]) : nil
        if parts.count == 2, port == nil { return nil }
        let host = String(parts[0])
        guard IPAddress.parse(host) == nil, DNSName(host) != nil else { return nil }
        return (host, port)
    }

    /// trace SRC NAME[:PORT]: NAME resolved from SRC as its resolver would, then a trace to the
    /// address (a Service's through kube-proxy, a pod's, any other); the DNS answer is the verdict
    /// when there is none.
    /// The address traced is the first answer (A before AAAA) in a family the source pod has
    /// (`family` narrows it): an IPv6-only pod follows the AAAA record.
    func traceName(
        from source: String, host: String, port: UInt16?, timeoutMilliseconds: Int32, proto: TraceProtocol?,
        family: IPFamily? = nil
    ) throws -> any Report {
        // The lookups wait as long as the trace's probe does, not the resolver's 5 s.
        let dns = try self.dns(pod: source, name: host, timeoutMilliseconds: timeoutMilliseconds, slowMilliseconds: 500)
        let families = (try? pod(source).families).map { $0.filter { family == nil || $0 == family } } ?? []
        guard dns.resolution.status == .resolved, let address = dns.resolution.addresses.first(where: { families.contains($0.family) })
        else {
            return NameTraceReport(dns: dns, traced: nil)
        }
        let target = port.map { ServiceFrontend.join(address, $0) } ?? address.description
        return NameTraceReport(
            dns: dns, traced: try trace(from: source, to: target, timeoutMilliseconds: timeoutMilliseconds, proto: proto, port: port))
    }
}

import CNIDetection
import DNS
import Diagnosis
import NetAddress
import NetSystem
import Pods
import Services
import Synchronization

extension NodeSession {
    /// dns POD [NAME]: the pod's resolv.conf where its runtime keeps it, the kubelet's DNS
    /// settings, and every query the pod's resolver would send for NAME (each search-list name,
    /// A and AAAA, to each nameserver, over UDP and TCP), sent from the pod's own namespace side
    /// by side: a dead nameserver costs one timeout, not one per query.
    public func dns(pod query: String, name text: String?, timeoutMilliseconds: Int32?, slowMilliseconds: Double) throws -> DNSReport {
        let pod = try pods.find(query)
        let file: (path: String, text: String)
        switch PodResolvConf.read(sandbox: pod.containerID, root: root) {
        case .success(let found): file = found
        case .failure(let error): throw SessionError("dns: \(pod.fullName): \(error)")
        }
        let conf = ResolvConf.parse(file.text)
        let kubelet = dnsSettings()
        let nodeConf = kubelet.flatMap { try? root.readText($0.resolvConf, limit: 64 << 10) }.map(ResolvConf.parse)
        let defaultName = "kubernetes.default"  // every cluster has it: the API server's Service
        guard let name = DNSName(text ?? defaultName) else {
            throw SessionError("dns: \(text ?? "") is not a DNS name (labels of letters, digits, '-' and '_', 63 bytes each, 255 in all)")
        }
        let namespace = try node.handle(try node.namespace(of: pod)).opened
        let servers = conf.nameservers.isEmpty ? [IPAddress.parse("127.0.0.1")!] : conf.nameservers
        let timeout = timeoutMilliseconds ?? Int32(conf.timeoutSeconds * 1000)
        var queries: [(DNSQuery, IPAddress, DNSTransport)] = []
        for candidate in conf.candidates(for: name) {
            for server in servers {
                for transport in DNSTransport.allCases {
                    for type in [DNSRecordType.a, .aaaa] {
                        queries.append((DNSQuery(id: UInt16.random(in: 1...UInt16.max), name: candidate, type: type), server, transport))
                    }
                }
            }
        }
        let exchanges = Self.sideBySide(queries) { query, server, transport in
            DNSClient.exchange(query, server: server, transport: transport, in: namespace, timeoutMilliseconds: timeout)
        }
        var facts = DNSFacts(pod: pod.fullName, podNamespace: pod.namespace, resolvConfPath: file.path, resolvConf: conf, kubelet: kubelet,
                             nodeResolvConf: nodeConf, name: name, exchanges: exchanges, slowMilliseconds: slowMilliseconds)
        // Only when a nameserver failed: what the node's Service table says of it (a read that
        // costs half a second beside thousands of Services).
        var extra: [Finding] = []
        let failing = servers.filter { server in !facts.exchanges(server: server).contains { $0.response?.code == .noError } }
        if !failing.isEmpty {
            let reading = ServiceReader.read()
            for server in failing {
                let entries = reading.table?.entries.filter { $0.frontends.contains { $0.address == server } } ?? []
                facts.serviceContext[server] = entries.map { entry in
                    let endpoints = entry.endpoints.map(\.description).joined(separator: ", ")
                    return "\(entry.label) (\(entry.proto)), kube-proxy \(reading.mode?.rawValue ?? "?") mode: \(entry.endpoints.isEmpty ? "no endpoints" : "endpoints \(endpoints)")"
                }
                extra += ServiceChecks.judge(entries, mode: reading.mode ?? .iptables, named: true)
            }
        }
        return DNSReport(facts: facts, extraFindings: extra)
    }

    /// The kubelet's clusterDNS, clusterDomain and resolvConf, when its files say anything.
    func dnsSettings() -> DNSFacts.Kubelet? {
        var ignored: [Finding] = []
        let settings = kubelet ?? KubeletReader.read(root: root, findings: &ignored)
        guard !settings.filesRead.isEmpty else { return nil }
        return DNSFacts.Kubelet(clusterDNS: (settings.clusterDNS ?? []).compactMap { IPAddress.parse($0) }, clusterDomain: settings.clusterDomain,
                                resolvConf: settings.resolvConf, files: settings.filesRead)
    }

    /// Runs each job on its own thread at once; the results in the jobs' order.
    static func sideBySide<Job, Result: Sendable>(_ jobs: [Job], _ body: @escaping @Sendable (Job) -> Result) -> [Result] where Job: Sendable {
        let results = ResultSlots<Result>(count: jobs.count)
        SideBySide.run(jobs.count) { index in results.set(index, body(jobs[index])) }
        return results.values
    }
}

/// Slots each thread fills once; read after every thread joined.
final class ResultSlots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Value?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    func set(_ index: Int, _ value: Value) { slots.withLock { $0[index] = value } }
    var values: [Value] { slots.withLock { $0.compactMap { $0 } } }
}

import DNS
import Diagnosis
import NetAddress
import Testing

/// The resolver's walk and the DNS codes, judged on facts built by hand: what each nameserver
/// answered to each query (the live suite sends them on the lab).
@Suite("DNS checks")
struct DNSChecksTests {
    static let server = IPAddress.parse("10.96.0.10")!
    static let web = IPAddress.parse("10.96.0.80")!
    static let pod = ResolvConf.parse(
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
    static let kubelet = DNSFacts.Kubelet(
        clusterDNS: [server], clusterDomain: "cluster.local", resolvConf: nil, files: ["/var/lib/kubelet/config.yaml"])

    /// An answer for every query the pod's resolver would send for `name`, made by `answer`.
    static func facts(
        _ name: String = "web", conf: ResolvConf = pod, kubelet: DNSFacts.Kubelet? = kubelet, node: ResolvConf? = nil,
        answer: (DNSName, DNSRecordType, DNSTransport) -> DNSExchange.Outcome
    ) -> DNSFacts {
        let asked = DNSName(name)!
        var exchanges: [DNSExchange] = []
        for candidate in conf.candidates(for: asked) {
            for server in conf.nameservers {
                for transport in DNSTransport.allCases {
                    for type in [DNSRecordType.a, .aaaa] {
                        exchanges.append(
                            DNSExchange(
                                server: server, transport: transport, name: candidate, type: type,
                                outcome: answer(candidate, type, transport), milliseconds: 1.5))
                    }
                }
            }
        }
        return DNSFacts(
            pod: "default/pod-b", podNamespace: "default", resolvConfPath: "/var/lib/containerd/…/resolv.conf", resolvConf: conf,
            kubelet: kubelet, nodeResolvConf: node, name: asked, exchanges: exchanges)
    }

    /// A response as dnsmasq gives it for the lab's zone: web.default.svc.cluster.local has an A record.
    static func zone(_ name: DNSName, _ type: DNSRecordType, _ transport: DNSTransport) -> DNSExchange.Outcome {
        let known = name.description == "web.default.svc.cluster.local"
        let answers = known && type == .a ? [DNSRecord(name: name.description, type: .a, ttl: 0, data: .address(web))] : []
        return .answered(
            DNSResponse(
                id: 1, code: known ? .noError : .nameError, truncated: false, authoritative: true, recursionAvailable: false,
                question: (name.description, type), answers: answers))
    }

    static func codes(_ facts: DNSFacts) -> [String] { DNSReport(facts: facts).findings.map(\.code.rawValue) }

    @Test("a healthy lookup: the first search-list name answers, nothing is wrong, the policy is ClusterFirst")
    func healthy() {
        let report = DNSReport(facts: Self.facts(answer: Self.zone))
        #expect(report.findings.isEmpty)
        #expect(report.resolution.status == .resolved && report.resolution.addresses == [Self.web])
        #expect(report.resolution.name?.description == "web.default.svc.cluster.local" && report.policy == .clusterFirst)
        #expect(report.resolution.queries.count == 2)  // A and AAAA of the first name
    }

    @Test("a name of another namespace: NXDOMAIN for the first search domain, the answer from the second")
    func secondDomain() {
        let facts = Self.facts("web.default", answer: Self.zone)
        let resolution = DNSResolution(facts)
        #expect(resolution.status == .resolved && resolution.name?.description == "web.default.svc.cluster.local")
        #expect(resolution.queries.count == 4)
    }

    @Test("every name NXDOMAIN: DNS_NXDOMAIN with the queries in the order the resolver sent them")
    func nxdomain() throws {
        let report = DNSReport(facts: Self.facts("nosuch", answer: Self.zone))
        #expect(report.resolution.status == .notFound)
        let finding = try #require(report.findings.first)
        #expect(report.findings.map(\.code) == [.dnsNXDomain] && finding.severity == .error)
        #expect(finding.evidence.count == 8 && finding.evidence.first?.hasPrefix("nosuch.default.svc.cluster.local A") == true)
    }

    @Test("silence both ways: DNS_SERVER_UNREACHABLE; TCP only: DNS_UDP_BLOCKED; UDP only: DNS_NO_ANSWER")
    func transports() {
        #expect(Self.codes(Self.facts { _, _, _ in .silent }) == ["DNS_SERVER_UNREACHABLE"])
        #expect(Self.codes(Self.facts { _, _, _ in .refused }) == ["DNS_SERVER_UNREACHABLE"])
        #expect(
            Self.codes(Self.facts { name, type, transport in transport == .udp ? .silent : Self.zone(name, type, transport) }) == [
                "DNS_UDP_BLOCKED"
            ])
        #expect(
            Self.codes(Self.facts { name, type, transport in transport == .tcp ? .silent : Self.zone(name, type, transport) }) == [
                "DNS_NO_ANSWER"
            ])
        // AAAA never answered over UDP while A is: each lookup waits for it.
        let aaaa = Self.facts { name, type, transport in type == .aaaa && transport == .udp ? .silent : Self.zone(name, type, transport) }
        #expect(Self.codes(aaaa) == ["DNS_NO_ANSWER"])
    }

    @Test("a server that answers the control name but not one query for the asked name: DNS_NO_ANSWER, an error, not unreachable")
    func upstreamSilent() {
        var facts = Self.facts("example.com.") { _, _, _ in .silent }
        let control = DNSName("kubernetes.default.svc.cluster.local.")!
        facts.controlName = control
        for transport in DNSTransport.allCases {
            facts.exchanges.append(
                DNSExchange(
                    server: Self.server, transport: transport, name: control, type: .a, outcome: Self.zone(control, .a, transport),
                    milliseconds: 1))
        }
        let findings = DNSReport(facts: facts).findings
        #expect(findings.map(\.code) == [.dnsNoAnswer] && findings.first?.severity == .error, "\(findings.map(\.code))")
    }

    @Test("a truncated UDP answer is asked again over TCP, as the resolver does")
    func truncated() {
        let facts = Self.facts { name, type, transport in
            guard transport == .udp, case .answered(var response) = Self.zone(name, type, transport) else {
                return Self.zone(name, type, transport)
            }
            response.truncated = true
            response.answers = []
            return .answered(response)
        }
        #expect(DNSResolution(facts).addresses == [Self.web])
    }

    @Test("errors instead of answers: DNS_SERVER_ERROR; slow answers: DNS_SLOW")
    func errorsAndSlowness() {
        let refused = Self.facts { name, type, _ in
            .answered(
                DNSResponse(
                    id: 1, code: .refused, truncated: false, authoritative: false, recursionAvailable: false,
                    question: (name.description, type), answers: []))
        }
        #expect(Self.codes(refused) == ["DNS_SERVER_ERROR", "DNS_SERVER_ERROR"])  // the server's, and the lookup that failed
        #expect(DNSResolution(refused).status == .failed)
        var slow = Self.facts(answer: Self.zone)
        slow.exchanges[0].milliseconds = 900
        #expect(Self.codes(slow) == ["DNS_SLOW"])
    }

    @Test("the pod's file against the kubelet: another nameserver, a search list of another namespace, none at all, ignored lines")
    func configuration() {
        let moved = DNSFacts.Kubelet(
            clusterDNS: [IPAddress.parse("10.96.0.11")!], clusterDomain: "cluster.local", resolvConf: nil, files: ["config.yaml"])
        #expect(Self.codes(Self.facts(kubelet: moved, answer: Self.zone)) == ["DNS_CONFIG_MISMATCH"])
        let other = ResolvConf.parse(
            "nameserver 10.96.0.10\nsearch kube-system.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n")
        #expect(Self.codes(Self.facts("web.default", conf: other, answer: Self.zone)) == ["DNS_CONFIG_MISMATCH"])
        let ignored = ResolvConf.parse(
            Self.pod.search.isEmpty
                ? ""
                : "nameserver 10.96.0.10\nnameserver dns.example\nnameservers x\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
        )
        #expect(Self.codes(Self.facts(conf: ignored, answer: Self.zone)) == ["DNS_CONFIG_INVALID"])
        let empty = DNSFacts(
            pod: "p", podNamespace: nil, resolvConfPath: "f", resolvConf: ResolvConf.parse("search x\n"), kubelet: nil,
            nodeResolvConf: nil, name: DNSName("web")!, exchanges: [])
        #expect(DNSReport(facts: empty).findings.first?.code == .dnsConfigInvalid)
        #expect(empty.nameservers == [IPAddress.parse("127.0.0.1")!])
    }

    @Test(
        "the race probe: insert_failed rising is DNS_CONNTRACK_RACE (an error when answers were lost); clashes the kernel resolved are not")
    func race() {
        var facts = Self.facts(answer: Self.zone)
        facts.burst = DNSBurst(server: Self.server, rounds: 20, lost: 2, insertFailed: 2, clashResolved: 0, drop: 0)
        let lost = DNSReport(facts: facts).findings
        #expect(lost.map(\.code) == [.dnsConntrackRace] && lost.first?.severity == .error)
        facts.burst = DNSBurst(server: Self.server, rounds: 20, lost: 0, insertFailed: 1, clashResolved: 0, drop: 0)
        #expect(DNSReport(facts: facts).findings.first?.severity == .warning)
        facts.burst = DNSBurst(server: Self.server, rounds: 20, lost: 0, insertFailed: 0, clashResolved: 7, drop: 0)
        #expect(DNSReport(facts: facts).findings.isEmpty)
        facts.burst = DNSBurst(server: Self.server, rounds: 20, lost: 3, insertFailed: nil, clashResolved: nil, drop: nil)
        #expect(DNSReport(facts: facts).findings.isEmpty)
    }

    static let notrack = [
        "-t raw -A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -m comment --comment \"NodeLocal DNS Cache: skip conntrack\" -j NOTRACK",
        "-t raw -A PREROUTING -d 169.254.20.10/32 -p udp -m udp --dport 53 -m comment --comment \"NodeLocal DNS Cache: skip conntrack\" -j NOTRACK",
    ]

    @Test(
        "NodeLocal DNSCache: healthy (its link up, or down as node-cache leaves it), its link gone with its rules left, its address missing, its rules missing"
    )
    func nodeLocal() {
        var facts = Self.facts(answer: Self.zone)
        let both = [Self.server, IPAddress.parse("169.254.20.10")!]
        facts.nodeLocal = NodeLocalDNS(link: .init(kind: "dummy", up: true, addresses: both), notrackRules: Self.notrack, acceptRules: [])
        #expect(DNSReport(facts: facts).findings.isEmpty)
        // Not in use: nothing said.
        facts.nodeLocal = NodeLocalDNS(link: nil, notrackRules: [], acceptRules: [])
        #expect(DNSReport(facts: facts).findings.isEmpty)
        facts.nodeLocal = NodeLocalDNS(link: nil, notrackRules: Self.notrack, acceptRules: [])
        let gone = DNSReport(facts: facts).findings
        #expect(gone.map(\.code) == [.nodeLocalDNSBroken] && gone.first?.severity == .error)
        #expect(gone.first?.message.contains("10.96.0.10 skip conntrack") == true, "\(gone.first?.message ?? "")")
        // The node's links not read: not read is not absent (the session says what it could not read).
        var unread = NodeLocalDNS(link: nil, notrackRules: Self.notrack, acceptRules: [])
        unread.linkProblem = "EPERM"
        facts.nodeLocal = unread
        #expect(DNSReport(facts: facts).findings.isEmpty)
        // node-cache never sets its dummy link up (kubernetes/dns#666): down is how it runs.
        facts.nodeLocal = NodeLocalDNS(link: .init(kind: "dummy", up: false, addresses: both), notrackRules: Self.notrack, acceptRules: [])
        #expect(DNSReport(facts: facts).findings.isEmpty, "\(DNSReport(facts: facts).findings.map(\.message))")
        facts.nodeLocal = NodeLocalDNS(link: .init(kind: "dummy", up: true, addresses: both), notrackRules: [], acceptRules: [])
        #expect(DNSReport(facts: facts).findings.map(\.severity) == [.warning])
        // IPVS-mode NodeLocal: the pod's nameserver is the link-local address itself.
        var linkLocal = Self.facts(
            conf: ResolvConf.parse(
                "nameserver 169.254.20.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"),
            kubelet: nil, answer: Self.zone)
        linkLocal.nodeLocal = NodeLocalDNS(
            link: .init(kind: "dummy", up: true, addresses: [Self.server]), notrackRules: [Self.notrack[0]], acceptRules: [])
        #expect(DNSReport(facts: linkLocal).findings.map(\.code) == [.nodeLocalDNSBroken])
    }

    @Test("loopback nameservers: in the pod's file an error, in the node's a warning")
    func loops() {
        let stub = ResolvConf.parse("nameserver 127.0.0.53\nsearch .\n")
        #expect(Self.codes(Self.facts(kubelet: Self.kubelet, node: stub, answer: Self.zone)) == ["DNS_LOOP_RISK"])
        let inPod = Self.facts("web.default.svc.cluster.local.", conf: stub, kubelet: nil, answer: Self.zone)
        #expect(DNSReport(facts: inPod).findings.first.map { ($0.code, $0.severity) } ?? (.dnsSlow, .info) == (.dnsLoopRisk, .error))
        #expect(DNSPolicy.implied(by: Self.facts(conf: stub, kubelet: Self.kubelet, node: stub, answer: Self.zone)) == .default)
    }
}

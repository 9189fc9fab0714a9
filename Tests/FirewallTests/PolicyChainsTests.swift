import Checks
import ConfigFormats
import Diagnosis
import Firewall
@testable import Policy
import TestSupport
import Testing

/// Policy engines' chains read back from the rules: the lab's (felix's layout in its iptables
/// and nftables dataplanes, kube-router's; recorded by scripts/record-policy-fixtures before
/// and after pod-b's TCP probe to pod-a's port 80 was dropped), and the older layouts real
/// nodes still run (felix without tiers or identity comments, kube-router's prose comments),
/// written here in the shape real dumps of them have.
@Suite("NetworkPolicy attribution")
struct PolicyChainsTests {
    func rules(_ name: String) throws -> [FirewallRule] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/FirewallTests/Fixtures/\(name)"), "fixture \(name)")
        return name.hasSuffix(".json") ? NftablesReader.parse(json: bytes) : FirewallReader.parse(bytes: bytes)
    }

    let probe = PolicyProbe(
        what: "TCP port 80", isICMP: false, source: "10.246.1.3",
        pods: ["cali1fe41d2935d": "pod-a", "cali1fda0b2935c": "pod-b"], destinationPod: "pod-a")

    func denied(_ fixture: String, probe: PolicyProbe? = nil) throws -> [Finding] {
        FirewallDrop.findings(
            before: try rules("\(fixture).before.\(fixture.contains("nft") ? "json" : "iptables-save")"),
            after: try rules("\(fixture).after.\(fixture.contains("nft") ? "json" : "iptables-save")"),
            in: "node1", probe: probe ?? self.probe)
    }

    @Test(
        "felix 3.28+ (iptables): the End of tier drop that moved is a default deny, named by the policies of its tier, found through their policy group chain"
    )
    func calicoDefaultDeny() throws {
        let findings = try denied("calico-default-deny")
        #expect(findings.count == 1)
        let finding = try #require(findings.first)
        #expect(finding.code == .policyDenied && finding.severity == .error)
        // Both policies sit behind one cali-gi- chain: the endpoint chain names neither.
        #expect(finding.message.contains("pod-a's ingress is selected by KubernetesNetworkPolicy default/allow-8080"), "\(finding.message)")
        #expect(finding.message.contains("default/allow-metrics"), "\(finding.message)")
        #expect(finding.message.contains("none of them allows TCP port 80 from 10.246.1.3") && finding.message.contains("tier default"))
        #expect(finding.evidence.first?.contains("End of tier default. Drop if no policies passed packet") == true)
        #expect(finding.evidence.first?.contains("(+1 packets during the probe)") == true)
    }

    @Test("felix: one policy of its selector is inlined (no group chain): the endpoint chain jumps to it")
    func calicoInlined() throws {
        let finding = try #require(try denied("calico-inline-default-deny").first)
        #expect(
            finding.code == .policyDenied && finding.message.contains("selected by KubernetesNetworkPolicy default/deny-all"),
            "\(finding.message)")
    }

    @Test("policy POD through felix's policy groups: both policies listed, each with its group chain and the packets its jump counted")
    func groupedEndpoint() throws {
        let rules = try rules("calico-default-deny.after.iptables-save")
        let endpoint = try #require(
            PolicyChains.endpoints(in: rules).first { $0.interface == "cali1fe41d2935d" && $0.direction == .ingress })
        let policies = endpoint.selecting
        #expect(policies.map(\.name).sorted() == ["allow-8080", "allow-metrics"])
        #expect(policies.allSatisfy { $0.group?.hasPrefix("cali-gi-") == true && $0.group?.count == 28 }, "\(policies.map(\.group))")
        let report = PolicyReport(pod: "default/pod-a", address: "10.246.1.2", hostInterface: "cali1fe41d2935d", rules: rules)
        #expect(report.jsonFields.first { $0.0 == "selected" }?.1.bool == true)
        #expect(policies.compactMap { report.evaluated($0, from: endpoint) }.count == 2)
    }

    @Test("felix: a DROP inside a policy chain is that policy's explicit deny")
    func calicoExplicitDeny() throws {
        let finding = try #require(try denied("calico-explicit-deny").first)
        #expect(finding.code == .policyDenied)
        #expect(finding.message.hasPrefix("GlobalNetworkPolicy deny-web-egress denies TCP port 80 from 10.246.1.3 at pod-b's egress"))
        #expect(finding.hop == "node1:cali1fda0b2935c")
        #expect(finding.evidence.contains { $0.hasPrefix("policy chain cali-po-_") && $0.contains("rule cali:") })
    }

    @Test("felix's nftables dataplane: the same verdict from nft's JSON, comments and counters")
    func calicoNftables() throws {
        let findings = try denied("calico-nft-default-deny")
        let finding = try #require(findings.first)
        #expect(findings.count == 1 && finding.code == .policyDenied)
        #expect(finding.message.contains("KubernetesNetworkPolicy default/allow-8080") && finding.message.contains("Calico, tier default"))
        #expect(finding.evidence.first?.hasPrefix("nft table ip calico chain filter-cali-tw-") == true)
    }

    @Test("kube-router: the pod chain's reject is a default deny; the probe's direction picks the ingress policies")
    func kubeRouter() throws {
        let finding = try #require(try denied("kube-router-default-deny").first)
        #expect(finding.code == .policyDenied)
        #expect(
            finding.message.contains("pod-a's ingress is selected by NetworkPolicy default/allow-8080")
                && finding.message.contains("kube-router"))
        #expect(finding.evidence.first?.contains("-j REJECT") == true)
    }

    @Test("the pod's endpoints: per direction, the tier's policies and the profiles")
    func endpoints() throws {
        let endpoints = PolicyChains.endpoints(in: try rules("calico-default-deny.after.iptables-save"))
        let ingress = try #require(endpoints.first { $0.interface == "cali1fe41d2935d" && $0.direction == .ingress })
        #expect(ingress.tiers.map(\.name) == ["default"])
        #expect(
            ingress.selecting.map(\.title) == [
                "KubernetesNetworkPolicy default/allow-8080", "KubernetesNetworkPolicy default/allow-metrics",
            ])
        #expect(ingress.tiers.first?.dropRule?.packets == 1)
        #expect(ingress.profiles == ["kns.default"])
        let egress = try #require(endpoints.first { $0.interface == "cali1fe41d2935d" && $0.direction == .egress })
        #expect(egress.selecting.isEmpty && egress.profileDrop != nil)
        // Four workload chains on node1 (two pods, two directions); nothing else is an endpoint.
        #expect(endpoints.count == 4)
    }

    @Test("policy POD: the report shows the selecting policies with the packets that reached them")
    func report() throws {
        let report = PolicyReport(
            pod: "default/pod-a", address: "10.246.1.2", hostInterface: "cali1fe41d2935d",
            rules: try rules("calico-default-deny.after.iptables-save"))
        #expect(report.endpoints.count == 2)
        let json = JSONWriter.write(report.json, pretty: false)
        #expect(json.contains("\"evaluatedPackets\":1") && json.contains("\"selected\":true"))
        // A pod kube-network-policies enforces: selected, by a queue rather than a chain.
        let queued = PolicyReport(
            pod: "default/pod-a", address: "10.246.1.2", hostInterface: "cali1fe41d2935d", rules: [],
            queued: [
                QueuedPolicy(table: "mangle", engine: "kube-network-policies", queue: 100, bypass: false, podAddresses: ["10.246.1.2"])
            ])
        let queuedJSON = JSONWriter.write(queued.json, pretty: false)
        #expect(queuedJSON.contains("\"selected\":true") && queuedJSON.contains("\"engine\":\"kube-network-policies\""))
        let unread = PolicyReport(pod: "default/pod-a", address: nil, hostInterface: nil, rules: nil)
        #expect(unread.findings.map(\.code) == [.firewallUnreadable])
    }

    /// Felix before tiers reached Calico OSS (3.x): "Start of policies", "Drop if no policies
    /// passed packet", the 0x1000000 accept mark, and policy chains named after the policy
    /// (tier.name) with no identity comment.
    static let olderFelix = """
        *filter
        :cali-tw-calie5a1b2c3d4f - [0:0]
        :cali-pi-default.database - [0:0]
        :cali-pi-_hZ1xkQ3vR8nT2yWb0aLm - [0:0]
        :cali-pri-kns.shop - [0:0]
        [12:720] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa1" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        [0:0] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa2" -m conntrack --ctstate INVALID -j DROP
        [3:180] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa3" -j MARK --set-xmark 0x0/0x1000000
        [3:180] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa4" -m comment --comment "Start of policies" -j MARK --set-xmark 0x0/0x2000000
        [3:180] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa5" -m mark --mark 0x0/0x2000000 -j cali-pi-default.database
        [0:0] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa6" -m comment --comment "Return if policy accepted" -m mark --mark 0x1000000/0x1000000 -j RETURN
        [3:180] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa7" -m mark --mark 0x0/0x2000000 -j cali-pi-_hZ1xkQ3vR8nT2yWb0aLm
        [0:0] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa8" -m comment --comment "Return if policy accepted" -m mark --mark 0x1000000/0x1000000 -j RETURN
        [3:180] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaaa9" -m comment --comment "Drop if no policies passed packet" -m mark --mark 0x0/0x2000000 -j DROP
        [0:0] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaab0" -j cali-pri-kns.shop
        [0:0] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaab1" -m comment --comment "Return if profile accepted" -m mark --mark 0x1000000/0x1000000 -j RETURN
        [0:0] -A cali-tw-calie5a1b2c3d4f -m comment --comment "cali:aaaaaaaaaaaaaab2" -m comment --comment "Drop if no profiles matched" -j DROP
        [0:0] -A cali-pi-default.database -p tcp -m comment --comment "cali:aaaaaaaaaaaaaab3" -m multiport --dports 5432 -j MARK --set-xmark 0x1000000/0x1000000
        [0:0] -A cali-pi-_hZ1xkQ3vR8nT2yWb0aLm -p tcp -m comment --comment "cali:aaaaaaaaaaaaaab4" -m multiport --dports 6379 -j MARK --set-xmark 0x1000000/0x1000000
        COMMIT
        """

    @Test("older felix: \"Start of policies\" and a tierless drop; a policy named by its chain, a hashed one unnamed")
    func olderFelixLayout() throws {
        let after = FirewallReader.parse(Self.olderFelix)
        let before = after.map { rule -> FirewallRule in
            var rule = rule
            if rule.comments.contains("Drop if no policies passed packet") { rule.packets = 2 }
            return rule
        }
        let finding = try #require(FirewallDrop.findings(before: before, after: after, in: "node", probe: nil).first)
        #expect(finding.code == .policyDenied)
        #expect(finding.message.contains("the pod behind calie5a1b2c3d4f's ingress is selected by default.database, (unnamed"))
        #expect(finding.evidence.first?.contains("(+1 packets during the probe)") == true)
    }

    /// kube-router before its 2026-07 comments: prose naming the pod and the policy.
    static let olderKubeRouter = """
        *filter
        :KUBE-POD-FW-Q2W3E4R5T6Y7U8I9 - [0:0]
        :KUBE-NWPLCY-ABCDEFGHIJKLMNOP - [0:0]
        :KUBE-NWPLCY-DEFAULT - [0:0]
        [40:2400] -A KUBE-POD-FW-Q2W3E4R5T6Y7U8I9 -m comment --comment "rule for stateful firewall for pod" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
        [0:0] -A KUBE-POD-FW-Q2W3E4R5T6Y7U8I9 -s 10.42.0.14/32 -m comment --comment "run through default egress network policy  chain" -j KUBE-NWPLCY-DEFAULT
        [5:300] -A KUBE-POD-FW-Q2W3E4R5T6Y7U8I9 -m comment --comment "run through nw policy default-deny-ingress" -j KUBE-NWPLCY-ABCDEFGHIJKLMNOP
        [5:300] -A KUBE-POD-FW-Q2W3E4R5T6Y7U8I9 -m comment --comment "rule to log dropped traffic POD name:web-5d8f namespace: shop" -m mark ! --mark 0x10000/0x10000 -m limit --limit 10/min --limit-burst 10 -j NFLOG --nflog-group 100
        [5:300] -A KUBE-POD-FW-Q2W3E4R5T6Y7U8I9 -m comment --comment "rule to REJECT traffic destined for POD name:web-5d8f namespace: shop" -m mark ! --mark 0x10000/0x10000 -j REJECT --reject-with icmp-port-unreachable
        COMMIT
        """

    @Test("older kube-router: the pod and the policy from its prose comments, the policy in the pod's namespace")
    func olderKubeRouterLayout() throws {
        let rules = FirewallReader.parse(Self.olderKubeRouter)
        let reject = try #require(rules.first { $0.specification.contains("-j REJECT") })
        guard case .defaultDeny(let endpoint, _, let selecting) = try #require(PolicyChains.explain(reject, in: rules)) else {
            Issue.record("not a default deny")
            return
        }
        #expect(endpoint.pod == "shop/web-5d8f")
        #expect(selecting.map(\.title) == ["NetworkPolicy shop/default-deny-ingress"])
    }

    @Test("rules no engine wrote stay FIREWALL_DROP; comments with quotes and spaces split as iptables-save quotes them")
    func notAnEngine() throws {
        let rules = FirewallReader.parse(
            """
            *filter
            [1:60] -A FORWARD -s 10.0.0.1/32 -m comment --comment "say \\"no\\" here" -j DROP
            COMMIT
            """)
        #expect(rules.first?.comments == ["say \"no\" here"])
        let before = rules.map { rule -> FirewallRule in
            var rule = rule; rule.packets = 0; return rule
        }
        #expect(FirewallDrop.findings(before: before, after: rules, in: "node").map(\.code) == [.firewallDrop])
    }
}

extension PolicyChainsTests {
    /// kube-router's nftables mode (its filter table per family), as `nft -j` prints it: the
    /// same comments, the pod's address as `ip daddr`, counters where kube-router puts them.
    static let kubeRouterNftables = """
        {"nftables": [
          {"rule": {"family": "ip", "table": "kube-router-filter-ipv4", "chain": "KUBE-POD-FW-ABCDABCDABCDABCD", "handle": 10, "comment": "shop/web-policy policy",
            "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.42.0.14"}},
                     {"counter": {"packets": 4, "bytes": 240}}, {"jump": {"target": "KUBE-NWPLCY-QWERTYQWERTYQWER"}}]}},
          {"rule": {"family": "ip", "table": "kube-router-filter-ipv4", "chain": "KUBE-POD-FW-ABCDABCDABCDABCD", "handle": 11, "comment": "shop/web reject",
            "expr": [{"counter": {"packets": 4, "bytes": 240}}, {"reject": null}]}}
        ]}
        """

    @Test("kube-router's nftables mode: the pod, its ingress policy by `ip daddr`, the reject")
    func kubeRouterNftablesLayout() throws {
        let rules = NftablesReader.parse(json: Array(Self.kubeRouterNftables.utf8))
        #expect(rules.count == 2)
        let reject = try #require(rules.first { $0.drops })
        guard case .defaultDeny(let endpoint, _, let selecting) = try #require(PolicyChains.explain(reject, in: rules)) else {
            Issue.record("not a default deny")
            return
        }
        #expect(endpoint.pod == "shop/web" && endpoint.engine == .kubeRouter)
        #expect(selecting.map(\.title) == ["NetworkPolicy shop/web-policy"] && selecting.first?.direction == .ingress)
    }
}

/// kube-network-policies: NetworkPolicy judged in userspace through an NFQUEUE.
@Suite("kube-network-policies: queued verdicts")
struct QueuedPolicyTests {
    /// Its table as `nft -j list table inet kube-network-policies` prints what its controller
    /// writes (a set of the local pods policies select, the postrouting chain queueing their new
    /// connections to 100; comments as in its source).
    static let table = """
        {"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
          {"table": {"family": "inet", "name": "kube-network-policies", "handle": 3, "comment": "rules for kubernetes NetworkPolicy"}},
          {"set": {"family": "inet", "name": "podips-v4", "table": "kube-network-policies", "type": "ipv4_addr", "handle": 1,
                   "comment": "Local V4 Pod IPs with Network Policies", "elem": ["10.244.1.7", "10.244.1.9"]}},
          {"chain": {"family": "inet", "table": "kube-network-policies", "name": "postrouting", "handle": 3, "type": "filter", "hook": "postrouting", "prio": 95, "policy": "accept"}},
          {"rule": {"family": "inet", "table": "kube-network-policies", "chain": "postrouting", "handle": 7, "expr": [{"match": {"op": "==", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}},
          {"rule": {"family": "inet", "table": "kube-network-policies", "chain": "postrouting", "handle": 8, "comment": "process IPv4 traffic with network policy enforcement",
                    "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@podips-v4"}}, {"queue": {"num": 100}}]}}
        ]}
        """

    @Test("its nftables table: the queue, no bypass, the pods it enforces")
    func table() throws {
        let queued = try #require(QueuedPolicy.parse(json: Array(Self.table.utf8), family: "inet"))
        #expect(queued.queue == 100 && !queued.bypass && queued.engine == "kube-network-policies")
        #expect(queued.podAddresses == ["10.244.1.7", "10.244.1.9"])
    }

    @Test("the same queueing through iptables' NFQUEUE target (the lab's, on a kernel without nft's queue)")
    func iptables() throws {
        let rules = FirewallReader.parse(
            """
            *mangle
            [3:180] -A KUBE-NETWORK-POLICIES -d 10.246.1.2/32 -m comment --comment "process IPv4 traffic with network policy enforcement" -j NFQUEUE --queue-num 100
            [0:0] -A OTHER -s 10.9.9.9/32 -j NFQUEUE --queue-num 7 --queue-bypass
            COMMIT
            """)
        let queued = QueuedPolicy.fromIptables(rules)
        #expect(queued.map(\.queue) == [7, 100])
        #expect(queued.last?.engine == "kube-network-policies" && queued.last?.podAddresses == ["10.246.1.2"])
        #expect(queued.first?.bypass == true && queued.first?.engine == "a userspace policy engine")
    }

    /// /proc/net/netfilter/nfnetlink_queue as the kernel wrote it on the lab's node1 (queue,
    /// listener port, waiting, copy mode, copy range, queue dropped, user dropped, id sequence, 1).
    static let listening = "  100  20386     0 2   128     0     0        2  1\n"
    static let queuedOnce = "  100  20386     0 2   128     0     0        3  1\n"

    @Test("the queue's listeners; a probe queued and never answered is the engine's denial; no listener is POLICY_ENGINE_DOWN")
    func verdicts() throws {
        #expect(
            QueueListener.parse(Self.listening) == [
                QueueListener(queue: 100, portID: 20386, waiting: 0, queueDropped: 0, userDropped: 0, sequence: 2)
            ])
        let policy = QueuedPolicy(
            table: "inet kube-network-policies", engine: "kube-network-policies", queue: 100, bypass: false, podAddresses: ["10.246.1.2"])
        let probe = PolicyProbe(what: "TCP port 80", isICMP: false, source: "10.246.1.3", pods: [:], destinationPod: "pod-a")
        let denied = QueuedPolicyChecks.findings(
            QueueObservation(
                policies: [policy], before: QueueListener.parse(Self.listening),
                after: QueueListener.parse(Self.queuedOnce)),
            in: "node", source: "10.246.1.3", destination: "10.246.1.2", reachable: false, probe: probe)
        #expect(denied.map(\.code) == [.policyDenied])
        #expect(
            denied.first?.message.contains("pod-a's ingress") == true && denied.first?.evidence.last?.contains("+1 packets queued") == true)
        // Answered, or not queued at all: nothing to say.
        #expect(
            QueuedPolicyChecks.findings(
                QueueObservation(
                    policies: [policy], before: QueueListener.parse(Self.listening),
                    after: QueueListener.parse(Self.listening)),
                in: "node", source: "10.246.1.3", destination: "10.246.1.2", reachable: false, probe: probe
            ).isEmpty)
        let down = QueuedPolicyChecks.findings(
            QueueObservation(policies: [policy], before: [], after: []), in: "node",
            source: "10.246.1.3", destination: "10.246.1.2", reachable: false, probe: probe)
        #expect(down.map(\.code) == [.policyEngineDown] && down.first?.severity == .error)
        // A pod the engine does not enforce: its queue is none of this probe's business.
        #expect(
            QueuedPolicyChecks.findings(
                QueueObservation(policies: [policy], before: [], after: []), in: "node",
                source: "10.246.1.3", destination: "10.246.1.4", reachable: false, probe: probe
            ).isEmpty)
    }
}

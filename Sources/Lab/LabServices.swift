import Services

/// The Services of the lab (`lab up --proxy iptables|nftables`), and of the recorded fixtures.
public enum LabServices {
    /// Which proxy mode the lab's kube-proxy stand-in writes its rules in.
    public enum Mode: String, Sendable, CaseIterable { case iptables, nftables }

    public static let serviceCIDR = "10.96.0.0/16"
    /// The IPv6 service range of a dual-stack lab (kube-apiserver's second --service-cluster-ip-range).
    public static let serviceCIDR6 = "fd00:96::/112"
    /// The port the lab's service backends listen on (HTTP over TCP; a UDP echo for udp).
    public static let targetPort: UInt16 = 8080

    /// A Service port of the lab, with the pods behind it.
    public struct Port: Sendable, Equatable {
        public var name: ServicePortName
        public var proto: String
        public var clusterIP: String
        public var port: UInt16
        public var nodePort: UInt16?
        public var externalLocal: Bool
        public var pods: [String]
        /// The port the pods serve it on.
        public var targetPort: UInt16 = LabServices.targetPort
    }

    /// default/web:http (pod-a on node1, pod-c on node2; NodePort 30080), default/echo:udp (the
    /// same pods, UDP), default/empty:http (no endpoints), default/local:http (pod-c only,
    /// `externalTrafficPolicy: Local`, NodePort 30081: node1 has no local endpoint), and the
    /// cluster DNS, kube-system/kube-dns (dnsmasq in pod-a and pod-c, UDP and TCP 53) at the
    /// kubelet's clusterDNS.
    public static let ports: [Port] = [
        Port(
            name: ServicePortName(namespace: "default", name: "web", port: "http"), proto: "tcp", clusterIP: "10.96.0.80", port: 80,
            nodePort: 30080, externalLocal: false, pods: ["pod-a", "pod-c"]),
        Port(
            name: ServicePortName(namespace: "default", name: "echo", port: "udp"), proto: "udp", clusterIP: "10.96.0.53", port: 53,
            nodePort: nil, externalLocal: false, pods: ["pod-a", "pod-c"]),
        Port(
            name: ServicePortName(namespace: "default", name: "empty", port: "http"), proto: "tcp", clusterIP: "10.96.0.90", port: 80,
            nodePort: nil, externalLocal: false, pods: []),
        Port(
            name: ServicePortName(namespace: "default", name: "local", port: "http"), proto: "tcp", clusterIP: "10.96.0.81", port: 80,
            nodePort: 30081, externalLocal: true, pods: ["pod-c"]),
        Port(
            name: ServicePortName(namespace: "kube-system", name: "kube-dns", port: "dns"), proto: "udp", clusterIP: LabPlan.clusterDNS,
            port: 53, nodePort: nil, externalLocal: false, pods: dnsPods, targetPort: 53),
        Port(
            name: ServicePortName(namespace: "kube-system", name: "kube-dns", port: "dns-tcp"), proto: "tcp", clusterIP: LabPlan.clusterDNS,
            port: 53, nodePort: nil, externalLocal: false, pods: dnsPods, targetPort: 53),
    ]

    /// A dual-stack lab's IPv6 halves (ipFamilyPolicy: PreferDualStack): the same Service ports
    /// at an IPv6 cluster IP each, programmed by kube-proxy's IPv6 proxier. The cluster DNS stays
    /// IPv4 (the pods' resolv.conf names 10.96.0.10), as kubeadm's clusters have it.
    public static let ports6: [Port] = ports.compactMap { port in
        guard port.name.namespace == "default", let last = port.clusterIP.split(separator: ".").last else { return nil }
        var v6 = port
        v6.clusterIP = "fd00:96::\(last)"
        return v6
    }

    /// The pods that run the cluster DNS server (as CoreDNS's two replicas would).
    public static let dnsPods = ["pod-a", "pod-c"]

    /// The cluster zone the DNS server answers for: each Service's name, and the API server's
    /// `kubernetes.default` every cluster has (no such Service is programmed in the lab).
    /// `dualStack`: each Service's IPv6 address too (its AAAA record).
    static func clusterRecords(dualStack: Bool) -> String {
        let services = Set(
            (ports + (dualStack ? ports6 : [])).map { "\($0.clusterIP) \($0.name.name).\($0.name.namespace).svc.\(LabPlan.clusterDomain)" })
        return (["10.96.0.1 kubernetes.default.svc.\(LabPlan.clusterDomain)"] + services.sorted()).joined(separator: "\n") + "\n"
    }

    /// The pods that serve the lab's Services on the target port.
    public static var backendPods: [String] { Array(Set(ports.filter { $0.targetPort == targetPort }.flatMap(\.pods))).sorted() }

    /// The ports as `node`'s kube-proxy sees them: each endpoint at its pod's address, local when
    /// the pod runs on `node`. `withoutEndpoints` names services whose endpoints are gone (a fault).
    static func proxied(
        on node: String, plan: LabPlan, podAddresses: [String: String], withoutEndpoints: Set<String> = [],
        ports: [Port] = LabServices.ports
    ) -> [ProxiedServicePort] {
        ports.map { port in
            let endpoints =
                withoutEndpoints.contains(port.name.service)
                ? []
                : port.pods.compactMap { pod -> ProxiedServicePort.Endpoint? in
                    guard let address = podAddresses[pod] else { return nil }
                    return ProxiedServicePort.Endpoint(address: address, port: port.targetPort, local: plan.pod(pod)?.node == node)
                }
            return ProxiedServicePort(
                name: port.name, proto: port.proto, clusterIP: port.clusterIP, port: port.port, nodePort: port.nodePort,
                externalLocal: port.externalLocal, endpoints: endpoints)
        }
    }

    // MARK: fixtures

    /// The Services of kube-proxy's TestOverall*Rules (ClusterIP, Local and Cluster NodePorts,
    /// two endpoints, none), plus a three-endpoint UDP DNS service and a Local service with a
    /// local endpoint: what scripts/record-service-fixtures loads and records.
    public static let fixture: [ProxiedServicePort] = {
        let ep = { (last: Int, port: UInt16, local: Bool) in
            ProxiedServicePort.Endpoint(address: "10.180.0.\(last)", port: port, local: local)
        }
        let name = { (ns: String, svc: String, port: String) in ServicePortName(namespace: ns, name: svc, port: port) }
        return [
            ProxiedServicePort(
                name: name("ns1", "svc1", "p80"), proto: "tcp", clusterIP: "172.30.0.41", port: 80, endpoints: [ep(1, 80, false)]),
            ProxiedServicePort(
                name: name("ns2", "svc2", "p80"), proto: "tcp", clusterIP: "172.30.0.42", port: 80, nodePort: 3001,
                externalLocal: true, endpoints: [ep(2, 80, false)]),
            ProxiedServicePort(
                name: name("ns3", "svc3", "p80"), proto: "tcp", clusterIP: "172.30.0.43", port: 80, nodePort: 3003,
                endpoints: [ep(3, 80, false)]),
            ProxiedServicePort(
                name: name("ns4", "svc4", "p80"), proto: "tcp", clusterIP: "172.30.0.44", port: 80,
                endpoints: [ep(4, 80, false), ep(5, 80, true)]),
            ProxiedServicePort(name: name("ns6", "svc6", "p80"), proto: "tcp", clusterIP: "172.30.0.46", port: 80, endpoints: []),
            ProxiedServicePort(
                name: name("kube-system", "kube-dns", "dns"), proto: "udp", clusterIP: "172.30.0.10", port: 53,
                endpoints: [ep(7, 53, false), ep(8, 53, true), ep(9, 53, false)]),
            ProxiedServicePort(
                name: name("ns7", "svc7", "p8080"), proto: "tcp", clusterIP: "172.30.0.47", port: 8080, nodePort: 3007,
                externalLocal: true, endpoints: [ep(10, 8080, true), ep(11, 8080, false)]),
        ]
    }()

    /// The fixture's IPv6 twin (cluster IPs fd00:172:30::N, endpoints fd00:10:180::N), as a
    /// dual-stack cluster's IPv6 proxier sees the same Services.
    public static let fixture6: [ProxiedServicePort] = fixture.map { port in
        var v6 = port
        v6.clusterIP = "fd00:172:30::" + (port.clusterIP.split(separator: ".").last.map(String.init) ?? "0")
        v6.endpoints = port.endpoints.map { endpoint in
            var e = endpoint
            e.address = "fd00:10:180::" + (endpoint.address.split(separator: ".").last.map(String.init) ?? "0")
            return e
        }
        return v6
    }

    /// Enough Services for kube-proxy's large-cluster mode (more than 1000 endpoints: no
    /// per-endpoint comments): `count` services of `endpoints` endpoints each, cluster IPs from
    /// 10.97.0.0 and node ports from 30100 (clear of the lab's own), endpoints from 10.128.0.0.
    public static func many(_ count: Int, endpoints: Int) -> [ProxiedServicePort] {
        (0..<count).map { index in
            let endpoints = (0..<endpoints).map { e in
                ProxiedServicePort.Endpoint(
                    address:
                        "10.\(128 + (index * endpoints + e) / 65536).\((index * endpoints + e) / 256 % 256).\((index * endpoints + e) % 256)",
                    port: 8080, local: false)
            }
            return ProxiedServicePort(
                name: ServicePortName(namespace: "bench", name: "svc\(index)", port: "http"), proto: "tcp",
                clusterIP: "10.\(97 + index / 65536).\(index / 256 % 256).\(index % 256)", port: 80,
                nodePort: index < 2000 ? UInt16(30100 + index) : nil, endpoints: endpoints)
        }
    }
}

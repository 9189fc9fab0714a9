import Cilium
import NetAddress
import Testing

@testable import Services

/// Cilium's load balancer as a ServiceTable: each frontend has its own id (its reverse-NAT
/// index), a NodePort's frontends (the surrogate and each node address) are one Service port,
/// the backends the datapath picks from, a frontend without backends, a Local policy's scopes.
@Suite("Services: Cilium's load balancer maps as Services")
struct CiliumServicesTests {
    static func ip(_ text: String) -> IPAddress { IPAddress.parse(text)! }

    @Test("a NodePort's surrogate and node address are one entry, its ClusterIP another; no backends is SERVICE_NO_ENDPOINTS' disposition")
    func entries() {
        let backends = [
            CiliumBackend(id: 1, address: Self.ip("10.244.1.2"), port: 8080),
            CiliumBackend(id: 2, address: Self.ip("10.244.2.2"), port: 8080),
            CiliumBackend(id: 3, address: Self.ip("10.244.2.9"), port: 8080, state: 1),
        ]
        let frontends = [
            CiliumFrontend(address: Self.ip("10.96.0.80"), port: 80, revNatIndex: 1, backends: backends),
            CiliumFrontend(address: Self.ip("0.0.0.0"), port: 30080, flags: 0x02, revNatIndex: 2, backends: backends),
            CiliumFrontend(address: Self.ip("192.168.77.1"), port: 30080, flags: 0x02, revNatIndex: 3, backends: backends),
            CiliumFrontend(address: Self.ip("10.96.0.90"), port: 80, revNatIndex: 4, backends: []),
            CiliumFrontend(address: Self.ip("10.0.0.5"), port: 8080, flags: 0x08, revNatIndex: 5, backends: backends),
        ]
        let entries = CiliumServices.entries(frontends)
        let web = entries.first { $0.frontends.contains(.clusterIP(Self.ip("10.96.0.80"), 80)) }
        #expect(web?.frontends == [.clusterIP(Self.ip("10.96.0.80"), 80)])
        #expect(web?.endpoints.map(\.description) == ["10.244.1.2:8080", "10.244.2.2:8080"])
        #expect(web?.endpoints.first?.share == 0.5)
        #expect(web?.proto == "tcp")
        #expect(web?.disposition == .endpoints)
        let nodePorts = entries.filter { $0.frontends.contains(.nodePort(30080)) }
        #expect(nodePorts.count == 1)
        #expect(nodePorts.first?.evidence.count == 2)
        let empty = entries.first { $0.frontends.contains(.clusterIP(Self.ip("10.96.0.90"), 80)) }
        #expect(empty?.disposition == .noEndpoints)
        #expect(empty?.proto == "any")
        // A host port is no Service's frontend.
        #expect(!entries.contains { $0.frontends.isEmpty == false && $0.frontends.contains(.clusterIP(Self.ip("10.0.0.5"), 8080)) })
    }

    @Test("a Local NodePort without backends of this node: its internal scope's are what pods reach (SERVICE_NO_LOCAL_ENDPOINTS)")
    func localPolicy() {
        let remote = [CiliumBackend(id: 7, address: Self.ip("10.244.2.2"), port: 8080)]
        let frontends = [
            CiliumFrontend(address: Self.ip("0.0.0.0"), port: 30081, flags: 0x06, revNatIndex: 7, backends: []),
            CiliumFrontend(address: Self.ip("0.0.0.0"), port: 30081, scope: 1, flags: 0x06, revNatIndex: 8, backends: remote),
        ]
        let entries = CiliumServices.entries(frontends)
        #expect(entries.count == 1)
        #expect(entries.first?.disposition == .noLocalEndpoints)
        #expect(entries.first?.localPolicy == true)
        #expect(entries.first?.endpoints.map(\.description) == ["10.244.2.2:8080"])
    }
}

import KernelState
import NetAddress
import NetlinkCodec
import NodeCheck
import TestSupport
import Testing

/// The peer nodes `check --probe` asks for their agents' health, from the node namespaces the
/// lab recorded (scripts/record-path-facts): flannel-style VXLAN, plain routes, Calico's BGP routes.
@Suite("check --probe's peers: the other nodes the routes name")
struct PeerNodesTests {
    func node(_ recording: String) throws -> NamespaceState {
        let folder = Repository.root + "/Tests/TraceChecksTests/Fixtures/\(recording)/node"
        func messages(_ name: String) throws -> [NetlinkMessage] {
            try NetlinkMessage.parseAll(try #require(Repository.read(folder + "/\(name).bin"), "\(recording) \(name)"))
        }
        let dumps = NamespaceDumps(
            links: try messages("links"), addresses: try messages("addresses"), routes: try messages("routes"),
            neighbors: try messages("neighbors"), forwardingDatabase: try messages("fdb"))
        return try dumps.state(sysctls: [:])
    }

    @Test(
        "overlay: the remote VTEP of flannel.1's FDB, not the overlay address; routed and calico: the route's gateway",
        arguments: ["overlay-healthy-cross-node", "routed-healthy-cross-node", "calico-healthy-cross-node"])
    func peers(recording: String) throws {
        let peers = PeerNodes.addresses(of: try node(recording))
        #expect(peers == [IPAddress.parse("192.168.77.2")], "\(recording): \(peers)")
    }

    @Test("an overlay route whose neighbour entry is gone names no peer (nothing to ask), never the overlay address")
    func fdbMissing() throws {
        let peers = PeerNodes.addresses(of: try node("overlay-OVERLAY_FDB_MISSING"))
        #expect(!peers.contains(IPAddress.parse("10.244.2.0")!))
    }
}

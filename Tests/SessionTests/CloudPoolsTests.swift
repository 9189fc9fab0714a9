import CNIDetection
import ConfigFormats
import TestSupport
import Testing

@testable import Session

/// check's pools of the cloud CNIs, found where their writers keep them under --root.
@Suite("a session's cloud IPAM pools")
struct CloudPoolsTests {
    static let fixtures = Repository.root + "/Tests/NodeCheckTests/Fixtures/"

    @Test("Azure's file and AWS's checkpoints (ipam.json, ipam-nic-N.json) read under the root; a missing one said, not guessed")
    func cloudPools() throws {
        let tree = NodeTree()
        tree.write("/var/run/azure-vnet-ipam.json", bytes: try #require(Repository.read(Self.fixtures + "azure-vnet-ipam.json")))
        let aws = try #require(Repository.read(Self.fixtures + "aws-ipam.json"))
        tree.write("/var/run/aws-node/ipam.json", bytes: aws)
        tree.write(
            "/var/run/aws-node/ipam-nic-1.json",
            #"{"version":"vpc-cni-ipam/1","allocations":[{"containerID":"x","ifName":"eth0","ipv4":"10.1.0.9"}]}"#)
        tree.write("/var/run/aws-node/ipamd.sock", "")
        let session = NodeSession(root: tree.root, runtimeEndpoint: "none")
        let conflist = """
            {"cniVersion": "0.4.0", "name": "cloud", "plugins": [
              {"type": "azure-vnet", "ipam": {"type": "azure-vnet-ipam"}},
              {"type": "aws-cni"}, {"type": "portmap"}]}
            """
        let network = try #require(LibCNI.load(bytes: Array(conflist.utf8), fileName: "10-cloud.conflist").network)
        var notRead: [String] = []
        let pools = session.cloudPools(network, file: "/etc/cni/net.d/10-cloud.conflist", known: nil, notRead: &notRead)
        #expect(pools.map(\.ipam) == ["azure-vnet-ipam", "aws-vpc-cni"])
        #expect(pools.last?.reservations.count == 4)
        #expect(notRead.isEmpty, "\(notRead)")
        let empty = NodeSession(root: NodeTree().root, runtimeEndpoint: "none")
        var missing: [String] = []
        #expect(empty.cloudPools(network, file: "f", known: nil, notRead: &missing).isEmpty)
        #expect(missing.count == 2, "\(missing)")
    }
}

import Diagnosis
import NetAddress
import NodeCheck
import TestSupport
import Testing

@Suite("check: Azure CNI's IPAM file and AWS VPC CNI's ipamd checkpoint, in their writers' shapes")
struct CloudIPAMTests {
    static let fixtures = Repository.root + "/Tests/NodeCheckTests/Fixtures"
    static let a = String(repeating: "a", count: 64)
    static let b = String(repeating: "b", count: 64)

    @Test("Azure: the pool's size is its secondary IPs; in-use ones held by unknown containers are leaks; an empty ID is not judged")
    func azure() throws {
        let bytes = try #require(Repository.read(Self.fixtures + "/azure-vnet-ipam.json"))
        let usage = try #require(AzureIPAM.usage(bytes, file: AzureIPAM.path, source: "10-azure.conflist", known: [Self.a]))
        #expect(usage.sets.map(\.description) == ["10.240.0.0/16"])
        #expect(usage.sets.first?.capacity == 3 && usage.sets.first?.used == 3)
        #expect(usage.leaked?.map(\.address.description) == ["10.240.0.6"])  // b's; 10.240.0.7 has no ID (v1.0.3-v1.1.7)
        let findings = IPAMChecks.findings(usage, maxPods: (30, "the kubelet's maxPods"))
        #expect(
            findings.map { "\($0.code) \($0.severity)" } == ["IPAM_EXHAUSTED error", "IPAM_RANGE_TOO_SMALL warning", "IPAM_LEAKED warning"])
        #expect(findings.first?.message.contains("azure-vnet-ipam's pool 10.240.0.0/16 of azure is full") == true)
        #expect(findings.last?.remedy?.contains("azure-vnet-ipam.lock") == true)
        #expect(AzureIPAM.usage(Array("{\"IPAM\": 3}".utf8), file: "f", source: "s", known: nil) == nil)
    }

    @Test("AWS: assignments only (no pool size on the node), leaks judged against the runtime, other versions refused")
    func aws() throws {
        let bytes = try #require(Repository.read(Self.fixtures + "/aws-ipam.json"))
        let reservations = try #require(AWSIPAMCheckpoint.reservations(bytes, file: "/var/run/aws-node/ipam.json"))
        #expect(reservations.map(\.address.description) == ["10.0.1.23", "10.0.1.24", "10.0.1.25"])
        let usage = AWSIPAMCheckpoint.usage(
            reservations, files: ["/var/run/aws-node/ipam.json"], source: "10-aws.conflist", known: [Self.a])
        #expect(usage.sets.isEmpty)
        #expect(usage.leaked?.map(\.address.description) == ["10.0.1.24"])
        #expect(IPAMChecks.findings(usage, maxPods: (110, "default")).map(\.code) == [.ipamLeaked])
        #expect(AWSIPAMCheckpoint.reservations(Array(#"{"version":"vpc-cni-ipam/2","allocations":[]}"#.utf8), file: "f") == nil)
    }
}

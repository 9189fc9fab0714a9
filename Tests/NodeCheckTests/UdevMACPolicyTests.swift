import Diagnosis
import NetAddress
@testable import NodeCheck
import TestSupport
import Testing

/// udev's MACAddressPolicy=persistent recomputed, and the CNI links it rewrote, on udev's
/// database and .link files as systemd writes them.
@Suite("check: CNI links whose MAC udev replaced (MACAddressPolicy=persistent)")
struct UdevMACPolicyTests {
    static let machineID = "3d1219c7c4c5404aaa1f6d2a48adfda4"

    @Test("SipHash-2-4 gives the reference vector (key 00..0f, message 00..0e), and its first six bytes become udev's MAC")
    func vectors() {
        let hash = SipHash24.hash(Array(0..<15), key: Array(0..<16))
        #expect(hash == 0xa129_ca61_49be_45e5)
        // e5 45 be 49 61 ca: unicast and locally administered → e6:45:be:49:61:ca (systemd's netif-util.c).
        #expect(UdevMACPolicy.mac(fromHash: hash) == [0xe6, 0x45, 0xbe, 0x49, 0x61, 0xca])
        // Other lengths: the length byte and the tail of the last block.
        #expect(SipHash24.hash([], key: Array(0..<16)) == 0x726f_db47_dd0e_0e31)
        #expect(SipHash24.hash(Array(0..<8), key: Array(0..<16)) == 0x93f5_f579_9a93_2462)
    }

    func tree(policy: String = "persistent", dropin: String? = nil) -> NodeTree {
        let tree = NodeTree()
        tree.write("/etc/machine-id", Self.machineID + "\n")
        tree.write(
            "/usr/lib/systemd/network/99-default.link",
            "[Match]\nOriginalName=*\n\n[Link]\nNamePolicy=keep kernel database onboard slot path\nAlternativeNamesPolicy=database onboard slot path\nMACAddressPolicy=\(policy)\n"
        )
        for (index, name) in [(5, "flannel.1"), (6, "cni0"), (7, "veth0c1d2e3f"), (2, "eth0")] {
            var record = "I:1733590000123456\nE:ID_NET_LINK_FILE=/usr/lib/systemd/network/99-default.link\n"
            if let dropin, index == 6 { record += "E:ID_NET_LINK_FILE_DROPINS=\(dropin)\n" }
            record += "E:ID_NET_NAME=\(name)\nG:systemd\nQ:systemd\nV:1\n"
            tree.write("/run/udev/data/n\(index)", record)
        }
        return tree
    }

    var machine: [UInt8] {
        stride(from: 0, to: 32, by: 2).map { i in
            UInt8(String(Array(Self.machineID)[i..<(i + 2)]), radix: 16)!
        }
    }

    func links(rewritten: Set<String>) -> [(index: Int32, name: String, mac: LinkAddress?, kind: String?)] {
        [(5, "flannel.1", "vxlan"), (6, "cni0", "bridge"), (7, "veth0c1d2e3f", "veth"), (2, "eth0", nil)].map { index, name, kind in
            let mac =
                rewritten.contains(name)
                ? UdevMACPolicy.persistentMAC(machineID: machine, name: name) : [0x0a, 0x58, 0x0a, 0xf4, 0x01, UInt8(index)]
            return (Int32(index), name, LinkAddress(mac), kind)
        }
    }

    /// What the reader finds in `tree` (kept alive until it has read: the tree's files go with it).
    func read(_ tree: NodeTree, rewritten: Set<String>) -> [RewrittenMAC] {
        withExtendedLifetime(tree) { UdevMACPolicy.read(root: tree.root, links: links(rewritten: rewritten)) }
    }

    @Test("flannel.1 with udev's persistent MAC is an error, a veth a warning; a MAC udev would not give is nothing; eth0 is no CNI link")
    func rewritten() {
        let found = read(tree(), rewritten: ["flannel.1", "veth0c1d2e3f", "eth0"])
        #expect(found.map(\.link) == ["flannel.1", "veth0c1d2e3f"])
        let findings = HostManagerChecks.macRewritten(found)
        #expect(findings.map(\.code) == [.linkManagedByHost, .linkManagedByHost])
        #expect(findings.map(\.severity) == [.error, .warning])
        #expect(findings.first?.hop == "node:flannel.1")
        #expect(findings.first?.remedy?.contains("OriginalName=flannel*") == true)
        #expect(findings.first?.evidence.last == "udev applied /usr/lib/systemd/network/99-default.link (/run/udev/data)")
    }

    @Test("MACAddressPolicy=none, or a drop-in setting it, or no udev database: nothing is judged")
    func notRewritten() {
        let all: Set<String> = ["flannel.1", "cni0", "veth0c1d2e3f"]
        #expect(read(tree(policy: "none"), rewritten: all).isEmpty)
        let dropin = tree(dropin: "/etc/systemd/network/99-default.link.d/cni.conf")
        dropin.write("/etc/systemd/network/99-default.link.d/cni.conf", "[Link]\nMACAddressPolicy=none\n")
        #expect(read(dropin, rewritten: all).map(\.link) == ["flannel.1", "veth0c1d2e3f"])
        let bare = NodeTree()
        bare.write("/etc/machine-id", Self.machineID)
        #expect(read(bare, rewritten: all).isEmpty)
    }

    @Test("hostile: a machine-id that is not 32 hex digits, a huge record, a link file that is a FIFO: nothing judged, no crash")
    func hostile() {
        let all: Set<String> = ["flannel.1", "cni0", "veth0c1d2e3f"]
        let badID = tree()
        badID.write("/etc/machine-id", "not-a-machine-id\u{1b}[2J")
        #expect(read(badID, rewritten: all).isEmpty)
        let huge = tree()
        huge.write("/run/udev/data/n5", String(repeating: "E:X=\(String(repeating: "y", count: 1000))\n", count: 200))
        #expect(!read(huge, rewritten: all).map(\.link).contains("flannel.1"))
        #expect(
            UdevMACPolicy.linkFiles("E:ID_NET_LINK_FILE=/a.link\nE:ID_NET_LINK_FILE_DROPINS=/b\\x3a.conf:/c.conf\n") == [
                "/a.link", "/b:.conf", "/c.conf",
            ])
    }
}

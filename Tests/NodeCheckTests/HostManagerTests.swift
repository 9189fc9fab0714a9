import Diagnosis
import NodeCheck
import TestSupport
import Testing

@Suite("check: host network managers claiming CNI links, from their runtime state files")
struct HostManagerTests {
    static let links: [(index: Int32, name: String)] = [(2, "eth0"), (5, "cni0"), (7, "cali1234567890a"), (9, "vethdeadbeef")]

    @Test("systemd-networkd: a .network matching by pattern is an error, naming the link a warning, unmanaged and stale files nothing")
    func networkd() {
        let tree = NodeTree()
        tree.write(
            "/run/systemd/netif/links/2",
            "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=/etc/systemd/network/10-eth.network\n"
        )
        tree.write(
            "/run/systemd/netif/links/7",
            "# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=carrier\nNETWORK_FILE=/etc/systemd/network/50-dhcp.network\n"
        )
        tree.write("/etc/systemd/network/50-dhcp.network", "[Match]\nName=* !lo\n\n[Network]\nDHCP=yes\n")
        tree.write("/run/systemd/netif/links/5", "ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/20-cni0.network\n")
        tree.write("/etc/systemd/network/20-cni0.network", "[Match]\nName=cni0\n[Network]\nKeepConfiguration=yes\n")
        tree.write("/run/systemd/netif/links/9", "ADMIN_STATE=unmanaged\nOPER_STATE=carrier\n")
        tree.write("/run/systemd/netif/links/11", "ADMIN_STATE=configured\nNETWORK_FILE=/x.network\n")  // no such link
        let claims = HostLinkManagers.read(root: tree.root, links: Self.links)
        #expect(claims.map(\.link) == ["cni0", "cali1234567890a"])
        let findings = HostManagerChecks.managed(claims)
        #expect(findings.map(\.severity) == [.warning, .error])
        #expect(findings.last?.evidence.last?.contains("matches it by a pattern") == true)
    }

    @Test("NetworkManager: a link it only observes (external) is fine; its own profile on a CNI link is an error")
    func networkManager() {
        let tree = NodeTree()
        tree.write("/run/NetworkManager/devices/5", "[device]\nmanaged=true\nconnection-uuid=aaaa-external\n")
        tree.write(
            "/run/NetworkManager/system-connections/cni0.nmconnection",
            "[connection]\nid=cni0\nuuid=aaaa-external\ntype=bridge\ninterface-name=cni0\n\n[.nmmeta]\nnm-generated=true\nvolatile=true\nexternal=true\n"
        )
        tree.write("/run/NetworkManager/devices/7", "[device]\nmanaged=true\nconnection-uuid=bbbb-wired\n")
        tree.write(
            "/run/NetworkManager/system-connections/Wired connection 1.nmconnection",
            "[connection]\nid=Wired connection 1\nuuid=bbbb-wired\ntype=ethernet\n\n[ipv4]\nmethod=auto\n\n[.nmmeta]\nnm-generated=true\n")
        tree.write("/run/NetworkManager/devices/9", "[device]\nmanaged=false\n")
        let claims = HostLinkManagers.read(root: tree.root, links: Self.links)
        #expect(claims.map(\.link) == ["cali1234567890a"])
        #expect(claims.first?.configuration?.hasPrefix("profile Wired connection 1") == true)
        #expect(HostManagerChecks.managed(claims).map(\.severity) == [.error])
    }
}

import ConfigFormats
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    /// udev's MACAddressPolicy=persistent as systemd-udevd applies it: Debian's udev unpacked
    /// by scripts/setup (not installed: that would start it for the whole machine), run in a
    /// private mount namespace with only net_setup_link's rule and one .link file that matches
    /// this test's veths, so it touches nothing else.
    @Suite("Privileged: a CNI link's MAC rewritten by a real systemd-udevd")
    struct UdevMACTests {
        static let udev = "/var/cache/netdoctor/udev"

        /// The script run inside the private mount namespace: udevd started, a veth made with a
        /// random MAC (udev rewrites it) and one with a MAC given (udev leaves it), check run.
        static func script(netdoctor: String) -> String {
            """
            set -e
            X=\(udev)
            W=$(mktemp -d)
            cleanup() { "$X/bin/udevadm" control --exit 2>/dev/null || true; wait; ip link del vethndudev0 2>/dev/null || true; ip link del vethndudev2 2>/dev/null || true; rm -rf "$W"; }
            trap cleanup EXIT
            ip link del vethndudev0 2>/dev/null || true
            ip link del vethndudev2 2>/dev/null || true
            mkdir -p "$W/udev/rules.d" "$W/links" "$W/empty"
            cp "$X/lib/udev/rules.d/80-net-setup-link.rules" "$W/udev/rules.d/"
            printf '[Match]\\nOriginalName=vethndudev*\\n\\n[Link]\\nMACAddressPolicy=persistent\\n' > "$W/links/10-ndtest.link"
            ln -s "$X/bin/udevadm" "$W/systemd-udevd"
            mount -t tmpfs tmpfs /run
            mkdir -p /run/udev
            mount --bind "$W/udev" /usr/lib/udev
            mount --bind "$W/links" /usr/lib/systemd/network
            mount --bind "$W/empty" /etc/systemd/network
            # In the background of this shell, not --daemon: the shell reaps it when it exits.
            "$W/systemd-udevd" 2>/dev/null &
            for i in $(seq 100); do [ -S /run/udev/control ] && break; sleep 0.05; done
            ip link add vethndudev0 type veth peer name vethndudev1
            ip link add vethndudev2 address 02:00:00:00:00:02 type veth peer name vethndudev3 address 02:00:00:00:00:03
            "$X/bin/udevadm" settle --timeout=10
            echo "mac $(cat /sys/class/net/vethndudev0/address) $(cat /sys/class/net/vethndudev0/addr_assign_type)" >&2
            echo "mac2 $(cat /sys/class/net/vethndudev2/address)" >&2
            \(netdoctor) check -o json || true
            """
        }

        @Test(
            "a veth udev gave its persistent MAC is LINK_MANAGED_BY_HOST naming udev's .link file; a veth made with its MAC is left alone")
        func persistentMAC() throws {
            try Privilege.require()
            try #require(
                NodeRoot("/").status(Self.udev + "/bin/udevadm")?.isExecutable == true,
                "udev unpacked by scripts/setup in \(Self.udev)")
            defer {
                _ = try? sh(["ip", "link", "del", "vethndudev0"])
                _ = try? sh(["ip", "link", "del", "vethndudev2"])
            }
            let result = try #require(
                ChildProcess.run(
                    "/usr/bin/unshare",
                    arguments: ["-m", "--propagation", "private", "/bin/sh", "-c", Self.script(netdoctor: Binary.path)],
                    environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 60_000))
            let stderr = result.errorText
            // udev rewrote the first (addr_assign_type 3, NET_ADDR_SET) and not the second.
            let mac = stderr.split(separator: "\n").first { $0.hasPrefix("mac ") }?.split(separator: " ")
            #expect(mac?.last == "3", "\(stderr)")
            #expect(stderr.contains("mac2 02:00:00:00:00:02"), "\(stderr)")
            let json = try JSONParser.parse(bytes: result.output)
            let findings = (json["findings"]?.array ?? []).filter { $0["code"]?.string == "LINK_MANAGED_BY_HOST" }
            // Both ends of the pair are in this namespace, each rewritten; the one made with its MAC is not.
            #expect(Set(findings.compactMap { $0["hop"]?.string }) == ["node:vethndudev0", "node:vethndudev1"], "\(findings)")
            let finding = findings.first { $0["hop"]?.string == "node:vethndudev0" }
            #expect(finding?["severity"]?.string == "warning")
            #expect(
                finding?["evidence"]?.array?.first?.string
                    == "vethndudev0 has \(mac?.dropFirst().first ?? "?"), the MAC MACAddressPolicy=persistent derives from /etc/machine-id and its name"
            )
            #expect(finding?["evidence"]?.array?.last?.string == "udev applied /usr/lib/systemd/network/10-ndtest.link (/run/udev/data)")
            // Nothing is left behind in this mount namespace.
            #expect(NodeRoot("/").status("/run/udev") == nil)
            #expect(NodeRoot("/").status("/sys/class/net/vethndudev0") == nil)
        }
    }
}

import NetlinkCodec
import TestSupport
import Testing

/// The forwarding switches as netlink carries them, on bytes the kernel sent to `ip link` and
/// `ip netconf` (scripts/capture-netlink-fixtures devconf), against what procfs said at the same
/// moment (devconf-procfs.txt).
@Suite("devconf: forwarding, rp_filter, proxy ARP/NDP and accept_ra from netlink, as procfs shows them")
struct DeviceConfigTests {
    func messages(_ name: String) throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/\(name).bin"), "fixture \(name)")
        return try NetlinkMessage.parseAll(bytes)
    }

    /// procfs's values by sysctl name.
    func procfs() throws -> [String: Int32] {
        let text = String(
            decoding: try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/devconf-procfs.txt")), as: UTF8.self
        )
        var values: [String: Int32] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let value = Int32(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    @Test("every link's six switches equal procfs's, including those set apart from their defaults")
    func linksAgreeWithProcfs() throws {
        let procfs = try procfs()
        let links = try messages("link-dump-devconf").filter { $0.type == .newLink }.map { try Link($0) }
        var compared = 0
        for link in links {
            let config = try #require(link.deviceConfig, "\(link.name) carries IFLA_AF_SPEC")
            let pairs: [(String, Int32?)] = [
                ("net.ipv4.conf.\(link.name).forwarding", config.ipv4Forwarding), ("net.ipv4.conf.\(link.name).rp_filter", config.rpFilter),
                ("net.ipv4.conf.\(link.name).proxy_arp", config.proxyARP), ("net.ipv6.conf.\(link.name).forwarding", config.ipv6Forwarding),
                ("net.ipv6.conf.\(link.name).accept_ra", config.acceptRA), ("net.ipv6.conf.\(link.name).proxy_ndp", config.proxyNDP),
            ]
            for (name, value) in pairs {
                #expect(value == procfs[name], "\(name)")
                compared += 1
            }
        }
        #expect(compared >= 36)
        // The values set apart from their defaults, so a wrong offset cannot pass on zeros alone.
        #expect(links.first { $0.name == "uplink" }?.deviceConfig?.rpFilter == 1)
        #expect(links.first { $0.name == "uplink" }?.deviceConfig?.acceptRA == 2)
        #expect(links.first { $0.name == "veth-pod" }?.deviceConfig?.proxyARP == 1)
        #expect(links.first { $0.name == "br0" }?.deviceConfig?.proxyNDP == 1)
    }

    @Test("the families' all and default: rp_filter 2 and 1, forwarding and proxy_arp on, as procfs shows")
    func familiesAgreeWithProcfs() throws {
        let procfs = try procfs()
        let v4 = try messages("netconf-dump-v4").filter { $0.type == .newNetconf }.map { try FamilyConfig($0) }
        let all = try #require(v4.first { $0.interfaceIndex == FamilyConfig.allInterfaces })
        #expect(all.family == 2)
        #expect(all.forwarding == procfs["net.ipv4.conf.all.forwarding"] && all.forwarding == 1)
        #expect(all.rpFilter == procfs["net.ipv4.conf.all.rp_filter"] && all.rpFilter == 2)
        #expect(all.proxyNeighbor == procfs["net.ipv4.conf.all.proxy_arp"] && all.proxyNeighbor == 1)
        let defaults = try #require(v4.first { $0.interfaceIndex == FamilyConfig.defaultInterface })
        #expect(defaults.rpFilter == procfs["net.ipv4.conf.default.rp_filter"] && defaults.rpFilter == 1)
        let v6 = try messages("netconf-dump-v6").filter { $0.type == .newNetconf }.map { try FamilyConfig($0) }
        let all6 = try #require(v6.first { $0.interfaceIndex == FamilyConfig.allInterfaces })
        #expect(all6.family == 10 && all6.forwarding == procfs["net.ipv6.conf.all.forwarding"] && all6.rpFilter == nil)
    }

    @Test("the netconf request encodes as iproute2's `ip netconf show dev`")
    func request() throws {
        let sent = try #require(try messages("request-netconf-v4").first { $0.type == .getNetconf })
        let index = try #require(
            Attribute.parseAll(sent.payload.dropFirst(GenericHeader.size)).attribute(NETCONFA.interfaceIndex)?.i32)
        let ours = RouteRequest.netconf(family: .inet, interfaceIndex: index)
        // iproute2's rtnl_talk adds NLM_F_ACK; the answer comes without it all the same.
        #expect(ours.flags == sent.flags.subtracting(.ack))
        #expect(Array(ours.payload) == Array(sent.payload))
    }

    @Test("hostile AF_SPEC: truncated arrays and attributes give what is there, never a crash")
    func hostile() throws {
        let links = try messages("link-dump-devconf").filter { $0.type == .newLink }
        for message in links {
            for cut in stride(from: 16, to: message.payload.count, by: 7) {
                var shorter = message
                shorter.payload = message.payload.prefix(cut)
                _ = try? Link(shorter)
            }
        }
    }
}

import NetAddress
import NetlinkCodec
import TestSupport
import Testing

/// The codec on bytes the kernel sent to real `ip` and `bridge` commands (see each fixture's
/// .txt for the state and the command; scripts/capture-netlink-fixtures made them).
@Suite("rtnetlink codec on captured bytes")
struct CodecTests {
    func messages(_ name: String) throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/\(name).bin"), "fixture \(name)")
        return try NetlinkMessage.parseAll(bytes)
    }

    func links(_ name: String) throws -> [Link] {
        try messages(name).filter { $0.type == .newLink }.map { try Link($0) }
    }

    @Test("ip -d link show: kinds, MTUs, state, bridge ports, veth peers in other namespaces, VXLAN details")
    func linkDump() throws {
        let links = try links("link-dump")
        let byName = Dictionary(uniqueKeysWithValues: links.map { ($0.name, $0) })
        #expect(Set(byName.keys).isSuperset(of: ["lo", "uplink", "br0", "veth-pod", "vx0", "down0", "down1"]))
        let uplink = try #require(byName["uplink"])
        #expect(uplink.kind == "veth")
        #expect(uplink.mtu == 9000)
        #expect(uplink.isUp)
        #expect(uplink.linkNetnsID == 0)  // the peer lives in ndcap2: the kernel gave it nsid 0
        let port = try #require(byName["veth-pod"])
        #expect(port.masterIndex == byName["br0"]?.index)
        #expect(port.portKind == "bridge")
        #expect(byName["br0"]?.kind == "bridge")
        #expect(byName["br0"]?.mtu == 1450)
        let vxlan = try #require(byName["vx0"]?.vxlan)
        #expect(vxlan.vni == 42)
        #expect(vxlan.port == 4789)
        #expect(vxlan.local == IPAddress.parse("10.1.1.1"))
        #expect(vxlan.underlayIndex.map(Int32.init) == uplink.index)
        #expect(vxlan.learning == false)
        #expect(byName["vx0"]?.address == LinkAddress.parse("0e:00:00:00:00:01"))
        // down0/down1: a veth pair never set up; peers in the same namespace (no nsid).
        let down = try #require(byName["down0"])
        #expect(!down.isUp)
        #expect(down.operState == .down)
        #expect(down.linkNetnsID == nil)
        #expect(down.linkIndex == byName["down1"]?.index)
        #expect(((byName["lo"]?.flags ?? 0) & Link.iffLoopback) != 0)
        // Unknown attributes are kept: every attribute the kernel sent is there.
        #expect(uplink.attributes.count > 20)
    }

    @Test("ip addr show: IPv4 and IPv6 addresses with prefix lengths, per interface")
    func addressDump() throws {
        let links = try self.links("addr-dump")
        let addresses = try messages("addr-dump").filter { $0.type == .newAddress }.map { try InterfaceAddress($0) }
        let br0 = try #require(links.first { $0.name == "br0" })
        let mine = Set(addresses.filter { $0.interfaceIndex == br0.index }.compactMap(\.cidr))
        #expect(mine.isSuperset(of: ["10.244.1.1/24", "fd00:244::1/64"]))
        let vx0 = try #require(links.first { $0.name == "vx0" })
        #expect(addresses.contains { $0.interfaceIndex == vx0.index && $0.cidr == "10.244.1.0/32" })
    }

    @Test("ip -4 route show table all: gateways, onlink, route MTU, blackhole, local table")
    func routeDump() throws {
        let routes = try messages("route-dump").filter { $0.type == .newRoute }.map { try Route($0) }
        let main = routes.filter { $0.table == .main }
        let defaultRoute = try #require(main.first { $0.destinationText == "default" })
        #expect(defaultRoute.gateway == IPAddress.parse("10.1.1.254"))
        let withMTU = try #require(main.first { $0.destinationText == "10.9.0.0/16" })
        #expect(withMTU.mtu == 1400)
        #expect(withMTU.gateway == IPAddress.parse("10.1.1.2"))
        let onlink = try #require(main.first { $0.destinationText == "10.244.2.0/24" })
        #expect(onlink.flags & 0x4 != 0)  // RTNH_F_ONLINK
        #expect(main.contains { $0.destinationText == "10.66.0.0/16" && $0.type == .blackhole })
        #expect(routes.contains { $0.table == .local })
    }

    @Test("ip route get: a lookup's single answer with the route MTU")
    func routeGet() throws {
        let replies = try messages("route-get").filter { $0.type == .newRoute }
        #expect(replies.count == 1)
        let route = try Route(replies[0])
        #expect(route.destination == IPAddress.parse("10.9.1.1"))
        #expect(route.gateway == IPAddress.parse("10.1.1.2"))
        #expect(route.preferredSource == IPAddress.parse("10.1.1.1"))
        #expect(route.mtu == 1400)
        #expect(route.outputIndex != nil)
    }

    @Test("ip neigh show: permanent and reachable entries with their MACs")
    func neighborDump() throws {
        let neighbors = try messages("neigh-dump").filter { $0.type == .newNeighbor }.map { try Neighbor($0) }
        let vtep = try #require(neighbors.first { $0.destination == IPAddress.parse("10.244.2.0") })
        #expect(vtep.state.contains(.permanent))
        #expect(vtep.linkAddress == LinkAddress.parse("0e:00:00:00:00:02"))
        let gateway = try #require(neighbors.first { $0.destination == IPAddress.parse("10.1.1.2") })
        #expect(gateway.linkAddress == LinkAddress.parse("02:00:00:00:00:02"))
        #expect(!gateway.state.isBroken)
    }

    @Test("bridge fdb show: the VXLAN forwarding entry names the remote VTEP")
    func fdbDump() throws {
        let entries = try messages("fdb-dump").filter { $0.type == .newNeighbor }.map { try Neighbor($0) }
            .filter { $0.family == .bridge }
        let remote = try #require(entries.first { $0.linkAddress == LinkAddress.parse("0e:00:00:00:00:02") })
        #expect(remote.destination == IPAddress.parse("10.1.1.2"))
    }

    @Test("ip netns list-id: RTM_NEWNSID")
    func namespaceIDs() throws {
        let ids = try messages("nsid-dump").filter { $0.type == .newNSID }.map { try NamespaceID($0).nsid }
        #expect(ids == [0])  // ndcap2, numbered when the veth peer moved there
    }

    @Test("NLMSG_ERROR with the original request (ip's first probe was answered ENODEV)")
    func errorMessage() throws {
        let error = try #require(try messages("link-dump").first { $0.type == .error })
        #expect(try NetlinkErrorMessage(error).errno == 19)  // ENODEV
    }

    @Test("an NLMSG_ERROR whose errno is Int32.min (the fuzzer's crash f80c1697, 2026-12-07) decodes without a trap")
    func errorMessageMinimum() throws {
        let bytes: [UInt8] = [
            0x30, 0, 0, 0, 0x1a, 0, 0x1, 0, 0x14, 0x90, 0xe, 0x6b, 0, 0, 0xa, 0, 0, 0, 0, 0x80, 0, 0x3, 0, 0, 0, 0, 0, 0,
            0x14, 0, 0x1, 0, 0xfd, 0, 0x2, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5,
        ]
        let message = try #require(try NetlinkMessage.parseAll(bytes).first)
        #expect(try NetlinkErrorMessage(message).errno == Int32.max)
    }

    @Test("requests encode as the kernel expects")
    func requests() throws {
        let dump = RouteRequest.dump(.getLink)
        let encoded = dump.encoded
        let decoded = try NetlinkMessage.parseAll(encoded)
        #expect(decoded.count == 1)
        #expect(decoded[0].type == .getLink)
        #expect(decoded[0].flags == [.request, .dump])
        #expect(encoded.count % 4 == 0)
        let lookup = RouteRequest.lookup(destination: IPAddress.parse("10.9.1.1")!)
        let attributes = try Attribute.parseAll(lookup.payload.dropFirst(12))
        #expect(attributes.attribute(RTA.destination).map { Array($0.payload) } == [10, 9, 1, 1])
    }

    @Test(
        "truncated and malformed input is an error, never a crash",
        arguments: [
            [UInt8](repeating: 0xff, count: 20), [0x10, 0, 0, 0, 0x10, 0, 0, 0], [0x30, 0, 0, 0] + [UInt8](repeating: 0, count: 20),
            [0x14, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ])
    func malformed(bytes: [UInt8]) {
        do {
            for message in try NetlinkMessage.parseAll(bytes) { _ = try Link(message) }
            Issue.record("accepted \(bytes)")
        } catch {
            #expect(!error.description.isEmpty)
        }
    }

    @Test("every truncation of a real dump is rejected cleanly")
    func truncations() throws {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/link-dump.bin"))
        let whole = try NetlinkMessage.parseAll(bytes)
        // Where each message ends: a cut there leaves whole messages, anywhere else inside one.
        var ends = Set<Int>([0])
        var offset = 0
        for message in whole { offset += message.encoded.count; ends.insert(offset) }
        var refused = 0
        for cut in stride(from: 1, to: bytes.count, by: 7) {
            do {
                let messages = try NetlinkMessage.parseAll(Array(bytes.prefix(cut)))
                #expect(ends.contains(cut) || messages.count < whole.count, "a cut at \(cut) parsed as whole")
                for message in messages where message.type == .newLink { _ = try? Link(message) }
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0, "no cut inside a message was refused")
    }
}

extension CodecTests {
    @Test("IPv6 address flags as duplicate address detection left them: dadfailed, tentative, deprecated, nodad")
    func addressFlags() throws {
        let addresses = try messages("addr-flags").filter { $0.type == .newAddress }.map { try InterfaceAddress($0) }
        let byAddress = Dictionary(
            addresses.compactMap { a in a.address.map { ($0.description, a.flags) } }, uniquingKeysWith: { a, _ in a })
        // fd00:1::1 was on the peer first: DAD failed here.
        #expect(byAddress["fd00:1::1"]?.contains(.dadFailed) == true && byAddress["fd00:1::1"]?.contains(.tentative) == true)
        #expect(byAddress["fd00:1::2"]?.contains(.tentative) == true && byAddress["fd00:1::2"]?.contains(.dadFailed) == false)
        #expect(byAddress["fd00:1::3"]?.contains(.deprecated) == true && byAddress["fd00:1::3"]?.contains(.tentative) == false)
        #expect(byAddress["fd00:1::1"]?.names.contains("dadfailed") == true)
        // The IPv4 capture's nodad address, from ip addr add … nodad.
        let v6 = try messages("addr-dump").filter { $0.type == .newAddress }.map { try InterfaceAddress($0) }.first {
            $0.address?.description == "fd00:244::1"
        }
        #expect(v6?.flags.contains(.noDAD) == true && v6?.flags.contains(.permanent) == true)
    }

    @Test(
        "IPv6 on a forwarding node: the default route a real router advertisement installed (proto ra, an expiry), NDP entries reachable and failed"
    )
    func ipv6RoutesAndNeighbours() throws {
        let routes = try messages("route-dump-v6").filter { $0.type == .newRoute }.map { try Route($0) }
        let learned = try #require(routes.first { $0.destinationLength == 0 && $0.family == .inet6 })
        #expect(learned.origin == .routerAdvertisement)
        #expect(learned.gateway?.isLinkLocal == true && learned.gateway?.isIPv4 == false)
        // The advertisement's router lifetime (60 s), a moment of which had passed at capture.
        #expect((50...60).contains(learned.expiresSeconds ?? 0), "\(String(describing: learned.expiresSeconds))")
        let prefix = try #require(routes.first { $0.destination == IPAddress.parse("fd00:1::") && $0.destinationLength == 64 })
        #expect(prefix.expiresSeconds == nil && prefix.origin != .routerAdvertisement)
        let neighbors = try messages("neigh-dump-v6").filter { $0.type == .newNeighbor }.map { try Neighbor($0) }
        let answered = try #require(neighbors.first { $0.destination == IPAddress.parse("fd00:1::9") })
        #expect(!answered.state.isBroken && answered.linkAddress != nil)
        // NTF_ROUTER (0x80): the peer forwards, so its advertisements set the router flag.
        #expect(answered.flags & 0x80 != 0)
        let silent = try #require(neighbors.first { $0.destination == IPAddress.parse("fd00:1::77") })
        #expect(silent.state.contains(.failed) && silent.state.isBroken)
    }
}

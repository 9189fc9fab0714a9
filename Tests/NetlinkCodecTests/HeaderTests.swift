import NetAddress
import NetlinkCodec
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Typed headers and named attributes on bytes the kernel sent (and iproute2 asked with), as
/// netlink-packet-route tests its messages: parse what was captured, emit it again, compare.
@Suite("rtnetlink headers, requests and lookups on captured bytes")
struct HeaderTests {
    func messages(_ name: String) throws -> [NetlinkMessage] {
        let bytes = try #require(Repository.read(Repository.root + "/Tests/NetlinkCodecTests/Fixtures/\(name).bin"), "fixture \(name)")
        return try NetlinkMessage.parseAll(bytes)
    }

    func roundTrips<H: MessageHeader & Equatable>(_ type: H.Type, _ payload: ArraySlice<UInt8>) throws -> Bool {
        let header = try H(parsing: payload)
        let again = try H(parsing: header.bytes[...])
        return header.bytes == Array(payload.prefix(H.size)) && again == header
    }

    @Test("every header of every captured dump parses and emits back to the same bytes")
    func headerRoundTrip() throws {
        var checked = 0
        for name in [
            "link-dump", "addr-dump", "route-dump", "neigh-dump", "fdb-dump", "nsid-dump", "route-get", "route-get-v6",
            "route-get-multipath",
        ] {
            for message in try messages(name) {
                switch message.type {
                case .newLink: #expect(try roundTrips(LinkHeader.self, message.payload), "\(name)")
                case .newAddress: #expect(try roundTrips(AddressHeader.self, message.payload), "\(name)")
                case .newRoute: #expect(try roundTrips(RouteHeader.self, message.payload), "\(name)")
                case .newNeighbor: #expect(try roundTrips(NeighborHeader.self, message.payload), "\(name)")
                case .newNSID: #expect(try roundTrips(GenericHeader.self, message.payload), "\(name)")
                default: continue
                }
                checked += 1
            }
        }
        #expect(checked > 50)
    }

    @Test(
        "a route lookup encodes byte for byte as iproute2's `ip route get`, IPv4 and IPv6 (no RTM_F_LOOKUP_TABLE for IPv6)",
        arguments: [("request-route-get", "10.9.1.1"), ("request-route-get-v6", "fd00:244::5")])
    func lookupRequest(fixture: String, destination: String) throws {
        let sent = try #require(try messages(fixture).first)
        let ours = RouteRequest.lookup(destination: try #require(IPAddress.parse(destination)))
        #expect(ours.type == sent.type)
        #expect(ours.flags == sent.flags)
        #expect(Array(ours.payload) == Array(sent.payload))
        let header = try RouteHeader(parsing: ours.payload)
        #expect(header.flags & RTMFlags.lookupTable == (destination.contains(":") ? 0 : RTMFlags.lookupTable))
    }

    @Test("a multipath route: both next hops with their gateways; a lookup picks one of them")
    func multipath() throws {
        let links = try messages("link-dump").filter { $0.type == .newLink }.map { try Link($0) }
        let uplink = try #require(links.first { $0.name == "uplink" })
        let routes = try messages("route-dump").filter { $0.type == .newRoute }.map { try Route($0) }
        let route = try #require(routes.first { $0.destinationText == "10.8.0.0/16" })
        #expect(route.nextHops.map(\.gateway) == [IPAddress.parse("10.1.1.2"), IPAddress.parse("10.1.1.3")])
        #expect(route.nextHops.allSatisfy { $0.outputIndex == uplink.index })
        #expect(route.gateway == nil && route.outputIndex == nil)
        let answer = try Route(try #require(try messages("route-get-multipath").first { $0.type == .newRoute }))
        #expect([IPAddress.parse("10.1.1.2"), IPAddress.parse("10.1.1.3")].contains(answer.gateway))
        #expect(answer.outputIndex == uplink.index)
    }

    @Test("IPv6 lookups: a connected prefix on the bridge, and ::1 as a local route on lo")
    func ipv6Lookups() throws {
        let links = try messages("link-dump").filter { $0.type == .newLink }.map { try Link($0) }
        let onBridge = try Route(try #require(try messages("route-get-v6").first { $0.type == .newRoute }))
        #expect(onBridge.family == .inet6)
        #expect(onBridge.destination == IPAddress.parse("fd00:244::5"))
        #expect(onBridge.outputIndex == links.first { $0.name == "br0" }?.index)
        let loopback = try Route(try #require(try messages("route-get-v6-loopback").first { $0.type == .newRoute }))
        #expect(loopback.type == .local)
        #expect(loopback.destination == IPAddress.parse("::1"))
    }

    @Test("the first attribute of a type counts, as iproute2's parse_rtattr keeps it")
    func firstAttributeWins() throws {
        let bytes: [UInt8] = [8, 0, 4, 0, 0xDC, 0x05, 0, 0, 8, 0, 4, 0, 0x28, 0x23, 0, 0]  // IFLA_MTU 1500, then 9000
        let attributes = try Attribute.parseAll(bytes[...])
        #expect(attributes.attribute(IFLA.mtu)?.u32 == 1500)
        #expect(IFLA.mtu.rawValue == 4 && RTA.multipath.rawValue == 9 && NDA.linkAddress.rawValue == 2 && NETNSA.fd.rawValue == 3)
    }
}

/// IPAddress.parse's own dotted-quad reader agrees with inet_pton on what it takes and refuses.
@Suite("IPv4 text as inet_pton reads it")
struct DottedQuadTests {
    @Test(
        "accepted and refused alike",
        arguments: [
            "10.244.1.2", "0.0.0.0", "255.255.255.255", "1.2.3.4", "192.168.077.1", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1..2.3",
            "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "", ".1.2.3", "1.2.3.", "1234.1.1.1", "::1", "fd00::10", "0.0.0.00",
        ])
    func agree(text: String) {
        var v4 = in_addr()
        let pton = inet_pton(AF_INET, text, &v4) == 1 ? IPAddress(bytes: withUnsafeBytes(of: &v4) { Array($0) }) : nil
        let parsed = IPAddress.parse(text)
        if let pton { #expect(parsed == pton, "\(text)") } else { #expect(parsed == nil || !(parsed!.isIPv4), "\(text)") }
    }
}

@Suite("rtnetlink header fields as named values")
struct HeaderFieldTests {
    @Test("every byte reads back as itself, named or not")
    func roundTrips() {
        for byte in UInt8.min...UInt8.max {
            #expect(AddressFamily(rawValue: byte).rawValue == byte)
            #expect(RouteType(rawValue: byte).rawValue == byte)
            #expect(RouteProtocol(rawValue: byte).rawValue == byte)
            #expect(RouteScope(rawValue: byte).rawValue == byte)
        }
        for table: UInt32 in [0, 1, 100, 252, 253, 254, 255, 256, 1000, .max] { #expect(RouteTable(rawValue: table).rawValue == table) }
    }

    @Test("the kernel's names as ip prints them")
    func names() {
        #expect(RouteType(rawValue: 1) == .unicast && RouteType(rawValue: 6).description == "blackhole")
        #expect(RouteType(rawValue: 200).description == "type 200")
        #expect(RouteTable(rawValue: 254) == .main && RouteTable(rawValue: 100).description == "100")
        #expect(RouteScope(rawValue: 253).description == "link" && RouteScope(rawValue: 0).description == "global")
        #expect(AddressFamily(rawValue: 10).ipFamily == .ipv6 && AddressFamily(rawValue: 7).ipFamily == nil)
        #expect(RouteProtocol(rawValue: 9) == .routerAdvertisement)
    }
}

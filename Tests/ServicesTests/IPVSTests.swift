import NetAddress
import NetlinkCodec
import Testing
@testable import Services

/// IPVS mode, which this VM's kernel cannot run (no ip_vs): /proc/net/ip_vs text as the kernel
/// prints it (ip_vs_ctl.c's ip_vs_info_seq_show: hex addresses and ports) and generic-netlink
/// messages built the way the kernel lays them out (include/uapi/linux/ip_vs.h).
@Suite("IPVS mode on recorded and spec-built input")
struct IPVSTests {
    static let proc = """
        IP Virtual Server version 1.2.1 (size=4096)
        Prot LocalAddress:Port Scheduler Flags
          -> RemoteAddress:Port Forward Weight ActiveConn InActConn
        TCP  0A600001:01BB rr
          -> C0A84D01:192B      Masq    1      0          0
        TCP  0A600050:0050 rr
          -> 0AF40102:1F90      Masq    1      2          1
          -> 0AF40202:1F90      Masq    1      0          3
        UDP  0A60000A:0035 rr
        TCP  [fd00:0000:0000:0000:0000:0000:0000:0010]:0050 rr
          -> [fd00:0244:0000:0000:0000:0000:0000:0002]:1F90      Masq    1      0          0

        """

    @Test("/proc/net/ip_vs: virtual servers with their real servers; one without any is no endpoints")
    func procText() throws {
        let table = IPVSServices.table(procText: Self.proc)
        #expect(table.mode == .ipvs && table.problems.isEmpty)
        #expect(table.entries.count == 4)
        let web = try #require(table.entry(address: IPAddress.parse("10.96.0.80")!, port: 80, proto: "tcp"))
        #expect(web.endpoints.map(\.description) == ["10.244.1.2:8080", "10.244.2.2:8080"])
        let dns = try #require(table.entry(address: IPAddress.parse("10.96.0.10")!, port: 53, proto: "udp"))
        #expect(dns.disposition == .noEndpoints && dns.endpoints.isEmpty)
        let v6 = try #require(table.entry(address: IPAddress.parse("fd00::10")!, port: 80, proto: "tcp"))
        #expect(v6.endpoints.map(\.description) == ["[fd00:244::2]:8080"])
        #expect(IPVSServices.table(procText: "TCP  nothex:01BB rr\n").problems.count == 1)
    }

    /// A genlmsghdr and one nested attribute of attributes, as the kernel sends them.
    static func message(family: UInt16, top: UInt16, _ attributes: [(UInt16, [UInt8])]) -> NetlinkMessage {
        var nested: [UInt8] = []
        for (type, payload) in attributes { nested += attribute(type, payload) }
        return NetlinkMessage(
            type: MessageType(rawValue: family), flags: [.multipart], payload: [1, 1, 0, 0] + attribute(top | 0x8000, nested))
    }

    static func attribute(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let length = 4 + payload.count
        var bytes = [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(type & 0xFF), UInt8(type >> 8)] + payload
        while bytes.count % 4 != 0 { bytes.append(0) }
        return bytes
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * UInt32($0)) & 0xFF) } }

    @Test("generic netlink: the family id from the controller, services and destinations decoded, the dump requests laid out")
    func genericNetlink() throws {
        let family: UInt16 = 0x1b
        let controllerAnswer = NetlinkMessage(
            type: IPVS.controller, flags: [],
            payload: [1, 2, 0, 0] + Self.attribute(2, Array("IPVS".utf8) + [0])
                + Self.attribute(1, Self.le16(family)))
        #expect(try IPVS.familyID(controllerAnswer) == MessageType(rawValue: family))
        let address = [10, 96, 0, 80] + [UInt8](repeating: 0, count: 12)
        let service = try #require(
            try IPVS.service(
                Self.message(
                    family: family, top: 1,
                    [
                        (1, Self.le16(2)), (2, Self.le16(6)), (3, address), (4, [0x00, 0x50]), (6, Array("rr".utf8) + [0]),
                    ]), family: MessageType(rawValue: family)))
        #expect(service.address == IPAddress.parse("10.96.0.80") && service.port == 80 && service.proto == 6 && service.scheduler == "rr")
        let destination = try #require(
            try IPVS.destination(
                Self.message(
                    family: family, top: 2,
                    [
                        (1, [10, 244, 2, 2] + [UInt8](repeating: 0, count: 12)), (2, [0x1F, 0x90]), (3, Self.le32(0)), (4, Self.le32(1)),
                        (7, Self.le32(2)), (8, Self.le32(1)),
                    ]), family: MessageType(rawValue: family), serviceFamily: 2))
        #expect(destination.address == IPAddress.parse("10.244.2.2") && destination.port == 8080 && destination.weight == 1)
        #expect(destination.activeConnections == 2 && destination.inactiveConnections == 1)
        let table = IPVSServices.table(services: [(service, [destination])])
        #expect(table.entries.first?.endpoints.map(\.description) == ["10.244.2.2:8080"])
        // The destinations request names the service by family, protocol, address and port.
        let request = IPVS.destinationsRequest(family: MessageType(rawValue: family), of: service)
        #expect(request.flags.contains(.dump) && Array(request.payload.prefix(2)) == [8, 1])
        #expect(try Attribute.parseAll(request.payload.dropFirst(4)).first?.nested().count == 4)
        // Foreign and truncated messages: nil or an error, never a crash.
        #expect(
            try IPVS.service(NetlinkMessage(type: .newRoute, flags: [], payload: [1, 1, 0, 0]), family: MessageType(rawValue: family))
                == nil)
        _ = try? IPVS.service(
            NetlinkMessage(type: MessageType(rawValue: family), flags: [], payload: [1, 1, 0, 0, 8, 0, 1, 0x80]),
            family: MessageType(rawValue: family))
    }
}

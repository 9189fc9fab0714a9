import Capture
import NetAddress
import NodeFiles
import TestSupport
import Testing

/// Frames built by hand, as a sender would put them on the wire.
enum Frames {
    static func ipv4(protocol proto: UInt8, source: [UInt8], destination: [UInt8], payload: [UInt8]) -> [UInt8] {
        let total = 20 + payload.count
        return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, proto, 0, 0] + source + destination + payload
    }

    static func ethernet(_ ipPacket: [UInt8], type: UInt16 = 0x0800) -> [UInt8] {
        [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, UInt8(type >> 8), UInt8(type & 0xFF)] + ipPacket
    }

    static let echoRequest = ethernet(
        ipv4(
            protocol: 1, source: [10, 244, 1, 2], destination: [10, 244, 2, 2],
            payload: [8, 0, 0, 0, 0x12, 0x34, 0, 7] + [UInt8](repeating: 0x61, count: 56)))

    /// The echo request inside VXLAN (VNI 1, port 8472) between two nodes.
    static var vxlan: [UInt8] {
        let udp: [UInt8] = [0xd6, 0xb5, 0x21, 0x18, 0, UInt8(8 + 8 + echoRequest.count), 0, 0]
        let header: [UInt8] = [0x08, 0, 0, 0, 0, 0, 1, 0]
        return ethernet(
            ipv4(protocol: 17, source: [192, 168, 77, 1], destination: [192, 168, 77, 2], payload: udp + header + echoRequest))
    }
}

@Suite("Packet fields, summaries and pcapng")
struct CaptureFormatTests {
    @Test("an echo request: addresses, type, id and sequence")
    func echo() throws {
        let fields = try #require(PacketFields.parse(Frames.echoRequest[...], linkType: 1))
        #expect(fields.source == IPAddress.parse("10.244.1.2"))
        #expect(fields.destination == IPAddress.parse("10.244.2.2"))
        #expect(fields.icmpType == 8)
        #expect(fields.echoID == 0x1234)
        #expect(fields.echoSequence == 7)
        #expect(
            PacketSummary.describe(Frames.echoRequest[...], linkType: 1, length: 98)
                == "10.244.1.2 > 10.244.2.2 ICMP echo request id 4660 seq 7, length 98")
    }

    @Test("VXLAN: the outer UDP and the frame it carries")
    func vxlan() throws {
        let fields = try #require(PacketFields.parse(Frames.vxlan[...], linkType: 1))
        #expect(fields.destinationPort == 8472)
        #expect(fields.vxlanVNI == 1)
        #expect(fields.innermost.echoSequence == 7)
        #expect(PacketSummary.describe(fields).contains("VXLAN vni 1: 10.244.1.2 > 10.244.2.2 ICMP echo request"))
    }

    @Test("truncated frames are described, never a crash")
    func truncated() {
        for cut in 0..<Frames.vxlan.count {
            _ = PacketSummary.describe(Frames.vxlan.prefix(cut), linkType: 1, length: cut)
            _ = PacketSummary.describe(Frames.vxlan.prefix(cut), linkType: 113, length: cut)
        }
    }

    @Test("pcapng written here is what tshark reads: interface names, frames, order, statistics")
    func pcapng() throws {
        let tshark = "/usr/bin/tshark"
        try #require(NodeRoot("/").status(tshark) != nil, "tshark is not installed (scripts/setup installs it)")
        let tree = NodeTree()
        let path = tree.path + "/out.pcapng"
        let writer = try PcapNGWriter(path: path, interfaces: [("pod-a:eth0", 1, 262_144), ("node:eth0", 1, 262_144)])
        var first = Packet(
            seconds: 1_700_000_000, nanoseconds: 123_456_789, originalLength: Frames.echoRequest.count, bytes: Frames.echoRequest[...])
        first.point = 0
        var second = Packet(seconds: 1_700_000_000, nanoseconds: 223_456_789, originalLength: Frames.vxlan.count, bytes: Frames.vxlan[...])
        second.point = 1
        try writer.write(first)
        try writer.write(second)
        try writer.finish(statistics: [(1, 0), (1, 0)], timestamp: 1_700_000_001_000_000_000)
        let result = try #require(
            ChildProcess.run(
                tshark,
                arguments: [
                    "-r", path, "-d", "udp.port==8472,vxlan", "-T", "fields",
                    "-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "icmp.seq",
                ],
                environment: ["PATH=/usr/bin:/bin", "HOME=/tmp"], timeoutMilliseconds: 20_000))
        #expect(result.status == 0, "\(result.errorText)")
        let lines = result.outputText.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(lines.count == 2)
        #expect(lines.first?.first == "pod-a:eth0")
        #expect(lines.first?[1].hasPrefix("1700000000.123456789") == true)
        #expect(lines.last?.first == "node:eth0")
        #expect(lines.last?.last == "7")
    }
}

import DNS
import NetAddress
import TestSupport
import Testing

/// The DNS wire codec on answers dnsmasq (the lab's cluster DNS server) sent to dig, captured off
/// the loopback by scripts/capture-dns-fixtures, and on bytes built to break it.
@Suite("DNS wire codec")
struct DNSCodecTests {
    func bytes(_ name: String) throws -> [UInt8] {
        let text = try #require(Repository.read(Repository.root + "/Tests/DNSTests/Fixtures/\(name).hex"), "fixture \(name)")
        let digits = text.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    func answer(_ name: String) throws -> DNSResponse { try DNSResponse(parsing: try bytes(name)) }

    @Test("an A answer, over UDP and over TCP: the address, the question, the flags")
    func addressAnswer() throws {
        for name in ["a-web", "a-web-tcp"] {
            let response = try answer(name)
            #expect(response.code == .noError && !response.truncated)
            #expect(response.question?.name == "web.default.svc.cluster.local" && response.question?.type == .a)
            #expect(response.addresses == [IPAddress.parse("10.96.0.80")!])
            #expect(response.answers.first?.name == "web.default.svc.cluster.local")
        }
    }

    @Test("NODATA (AAAA of a name with only A), NXDOMAIN, REFUSED")
    func negativeAnswers() throws {
        let nodata = try answer("aaaa-web")
        #expect(nodata.code == .noError && nodata.answers.isEmpty && nodata.question?.type == .aaaa)
        #expect(try answer("nxdomain").code == .nameError)
        #expect(try answer("refused").code == .refused)
    }

    @Test("a CNAME and the A it leads to, the A's owner name a compression pointer")
    func cname() throws {
        let response = try answer("cname")
        #expect(response.answers.map(\.type) == [.cname, .a])
        #expect(response.answers.first?.data == .name("web.default.svc.cluster.local"))
        #expect(response.answers.last?.name == "web.default.svc.cluster.local")
        #expect(response.addresses == [IPAddress.parse("10.96.0.80")!])
    }

    @Test("a query as a stub resolver sends it: RD set, one question, lowercased labels; TCP with its length first")
    func query() throws {
        let name = try #require(DNSName("Web.Default.svc.cluster.local"))
        let bytes = DNSQuery(id: 0x1234, name: name, type: .aaaa).encoded()
        #expect(Array(bytes.prefix(12)) == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes.suffix(4)) == [0, 28, 0, 1])
        #expect(bytes[12] == 3 && Array(bytes[13..<16]) == Array("web".utf8))
        let tcp = DNSQuery(id: 0x1234, name: name, type: .aaaa).encoded(tcp: true)
        #expect(Int(tcp[0]) << 8 | Int(tcp[1]) == bytes.count && Array(tcp.dropFirst(2)) == bytes)
    }

    @Test(
        "names: what DNS allows, and what it does not",
        arguments: [
            ("web", true), ("web.default.svc.cluster.local.", true), ("_dns._udp.kube-dns", true), ("a..b", false), ("", false),
            (".", false),
            ("has space", false), ("ünïcode", false), (String(repeating: "a", count: 64), false),
            (String(repeating: "abcdefg.", count: 32), false),
        ])
    func names(text: String, valid: Bool) {
        #expect((DNSName(text) != nil) == valid, "\(text)")
    }

    @Test("bytes built to break it: pointer loops, forward pointers, labels past the end, a query, cut answers")
    func hostile() throws {
        let header: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        // A question whose name points at itself.
        #expect(throws: DNSDecodeError.self) { try DNSResponse(parsing: header + [0xC0, 12, 0, 1, 0, 1]) }
        // A pointer forwards.
        #expect(throws: DNSDecodeError.self) { try DNSResponse(parsing: header + [0xC0, 40, 0, 1, 0, 1]) }
        // A label longer than what is left.
        #expect(throws: DNSDecodeError.self) { try DNSResponse(parsing: header + [30, 0x61]) }
        // A query (QR clear) is not an answer.
        #expect(throws: DNSDecodeError.self) { try DNSResponse(parsing: [0, 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }
        // An A record of 5 bytes.
        let question: [UInt8] = [3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1]
        let badA: [UInt8] = [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]
        #expect(throws: DNSDecodeError.self) { try DNSResponse(parsing: header + question + badA) }
        // Every prefix of a real answer: an error or (never) a crash.
        let bytes = try bytes("cname")
        for length in 0..<bytes.count { _ = try? DNSResponse(parsing: Array(bytes.prefix(length))) }
        // A truncated UDP answer keeps the records that are whole.
        var truncated = bytes
        truncated[2] |= 0x02
        let cut = try DNSResponse(parsing: Array(truncated.prefix(truncated.count - 3)))
        #expect(cut.truncated && cut.answers.count == 1)
    }
}

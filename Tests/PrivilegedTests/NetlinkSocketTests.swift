import ConfigFormats
import Netlink
import NetlinkCodec
import NodeFiles
import TestSupport
import Testing

extension PrivilegedSuite {
    @Suite("Privileged: the rtnetlink socket and old caches")
    struct NetlinkSocketTests {
        @Test("the kernel's extended ack becomes a readable error; a lookup answers with one route")
        func extendedAck() throws {
            try Privilege.require()
            let socket = try NetlinkSocket()
            // RTM_GETNSID for a descriptor that is no namespace: refused with an extended ack.
            do {
                _ = try socket.request(RouteRequest.namespaceID(fd: 0))
                Issue.record("the kernel gave an nsid for stdin")
            } catch {
                guard case .kernel(_, let message) = error else { Issue.record("\(error)"); return }
                #expect(message?.isEmpty == false, "no extended ack text")
                #expect(error.description.contains("refused"))
            }
            let reply = try socket.request(RouteRequest.lookup(destination: .parse("127.0.0.1")!))
            let route = try Route(reply)
            #expect(route.type == .local)
        }
    }
}

import CNetShims
import ConfigFormats
import Netlink
import NetlinkCodec
import NetSystem
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

        @Test("a namespace's sockets: one per family, opened once, answering for that namespace from any thread")
        func namespaceSockets() throws {
            try Privilege.require()
            _ = try sh(["ip", "netns", "add", "ndtest-sockets"])
            defer { _ = try? sh(["ip", "netns", "del", "ndtest-sockets"]) }
            _ = try sh(["ip", "netns", "exec", "ndtest-sockets", "nft", "add", "table", "inet", "ndtest_only_here"])
            let sockets = NetlinkSockets(namespace: try NetNamespace(path: "/var/run/netns/ndtest-sockets"))
            let tables = { (sockets: NetlinkSockets) throws -> [String] in
                try sockets.netfilter { try $0.dump(NFTables.dumpTables) }.compactMap { try NFTables.table($0)?.name }
            }
            #expect(try tables(sockets).contains("ndtest_only_here"))
            // The node's sockets do not see the pod's table: each is bound where it was opened.
            #expect(try !tables(NetlinkSockets(namespace: nil)).contains("ndtest_only_here"))
            // Asked again, the same socket answers (no new one per read).
            let first = try sockets.netfilter { ObjectIdentifier($0) }
            #expect(try sockets.netfilter { ObjectIdentifier($0) } == first)
            #expect(try sockets.with(NETLINK_ROUTE) { ObjectIdentifier($0) } != first)
        }
    }
}

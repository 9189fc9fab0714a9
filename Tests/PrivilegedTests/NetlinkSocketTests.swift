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
        let socket = try RouteSocket()
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
        #expect(route.type == 2)  // local
    }

    @Test("a cache from before libcni 1.2 (no netns): the pod's namespace is found by its IP")
    func cacheWithoutNetns() throws {
        try Privilege.require()
        _ = try Binary.run(["lab", "up"], timeout: 120_000)
        defer { _ = try? Binary.run(["lab", "down"]) }
        let results = "/var/lib/netdoctor-lab/node1/var/lib/cni/results"
        for entry in try NodeRoot("/").list(results) {
            let value = try JSONParser.parse(try NodeRoot("/").readText(entry.nodePath))
            guard case .object(var object) = value else { continue }
            object.members.removeAll { $0.key == "netns" }
            FileTree.write(entry.nodePath, bytes: Array(JSONWriter.write(.object(object)).utf8))
        }
        let result = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "pod-b", "-o", "json"])
        #expect(result.status == 0, "\(result.errorText)")
        let report = try JSONParser.parse(bytes: result.output)
        #expect(report["namespace"]?["name"]?.string == "ndlab-pod-b")
        #expect(report["pod"]?["netns"] == .null)
    }
}
}

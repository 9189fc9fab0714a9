import KernelState
import NetAddress
import NetlinkCodec
import NodeFiles
import TestSupport
import Testing

/// The lab's recorded namespaces hold both the link dumps and the sysctls netdoctor then read
/// from procfs (scripts/record-path-facts, before the sysctls came from netlink): the same
/// values from the links' IFLA_AF_SPEC, for every interface of every recorded namespace.
@Suite("sysctls from netlink equal the procfs values recorded beside the same dumps")
struct RecordedSysctlsTests {
    @Test("every per-interface sysctl of every recorded namespace (calico, overlay, routed, IPv6 and dual-stack recordings)")
    func perInterface() throws {
        let fixtures = Repository.root + "/Tests/TraceChecksTests/Fixtures"
        var compared = 0
        var namespaces = 0
        for recording in try NodeRoot("/").list(fixtures, withStatus: true) where recording.status?.isDirectory == true {
            for namespace in try NodeRoot("/").list(fixtures + "/" + recording.name, withStatus: true)
            where namespace.status?.isDirectory == true {
                let folder = fixtures + "/" + recording.name + "/" + namespace.name
                guard let links = Repository.read(folder + "/links.bin"), let text = Repository.read(folder + "/sysctls.txt") else {
                    continue
                }
                let dumps = NamespaceDumps(
                    links: try NetlinkMessage.parseAll(links), addresses: [], routes: [], neighbors: [], forwardingDatabase: [])
                let parsed = try dumps.parsedLinks()
                let derived = dumps.sysctls(links: parsed, interfaces: parsed.map(\.name))
                // A big namespace keeps no veth's sysctls: each interface's switch still comes from its link.
                let bare = try dumps.state(links: parsed, sysctls: [:])
                namespaces += 1
                for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
                    let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                    let name = parts[0].split(separator: ".")
                    // Per-interface keys only (net.ipv4.conf.IF.KEY); "all" and "default" come
                    // from RTM_GETNETCONF, which the recordings do not hold.
                    guard parts.count == 2, name.count == 5, name[2] == "conf", !["all", "default"].contains(name[3]) else { continue }
                    #expect(derived[parts[0]] == parts[1], "\(recording.name)/\(namespace.name): \(parts[0])")
                    let family: IPFamily = name[1] == "ipv4" ? .ipv4 : .ipv6
                    #expect(
                        bare.interfaceSetting(family, String(name[4]), of: String(name[3])).map(String.init) == parts[1],
                        "\(recording.name)/\(namespace.name): \(parts[0]) without the sysctls")
                    compared += 1
                }
            }
        }
        #expect(namespaces >= 100)
        #expect(compared >= 500)
    }
}

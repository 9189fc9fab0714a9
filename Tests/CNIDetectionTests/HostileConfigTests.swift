import CNIDetection
import ConfigFormats
import Diagnosis
import NodeFiles
import TestSupport
import Testing

/// Configs read as libcni and the plugins read them (HOSTILE-INPUT 3, 14, 17, 22): Go's
/// case-insensitive fields, the plugins' own refusals, node MTU files read strictly.
@Suite("detect-cni on hostile configs")
struct HostileConfigTests {
    func node(_ conflist: String, file: String = "10-x.conflist") -> NodeTree {
        NodeTree()
            .write("/etc/containerd/config.toml", Fixtures.containerdV2)
            .write("/var/lib/kubelet/config.yaml", Fixtures.kubeletConfig)
            .write("/etc/cni/net.d/" + file, conflist)
            .plugins(["flannel", "portmap", "bridge", "host-local", "loopback"])
    }

    @Test(
        "Go matches struct fields case-insensitively, the last match winning: these load",
        arguments: [
            (
                #"{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"Type":"flannel"},{"type":"portmap"}]}"#, "10-x.conflist",
                ["flannel", "portmap"]
            ),
            (
                #"{"Name":"br","CNIVersion":"0.3.1","Type":"bridge","IPAM":{"Type":"host-local","Subnet":"10.9.0.0/24"}}"#, "10-x.conf",
                ["bridge"]
            ),
            (#"{"name":"n","cniVersion":"0.3.1","plugins":[{"type":"bridge","Type":"flannel"}]}"#, "10-x.conflist", ["flannel"]),
        ])
    func goFields(conflist: String, file: String, types: [String]) {
        let report = Fixtures.detect(node(conflist, file: file))
        #expect(report.active?.network?.types == types, "\(report.findings)")
        #expect(!report.errorCodes.contains("CNI_CONFIG_INVALID"), "\(report.findings)")
    }

    @Test(
        "what the plugins refuse is an error with the file's line and the plugin's rule",
        arguments: [
            (#""subnet": "/""#, "invalid CIDR"), (#""subnet": "10.9.0.0/33""#, "invalid CIDR"), (#""subnet": "10.9.0.0""#, "invalid CIDR"),
            (#""subnet": "10.9.0.0/32""#, "too small to allocate"),
            (#""ranges": [[{"subnet": "10.9.0.0/24", "rangeStart": "10.8.0.5"}]]"#, "RangeStart not in network"),
            (#""ranges": [[{"subnet": "10.9.0.0/24"}], [{"subnet": "10.9.0.128/25"}]]"#, "overlaps"),
            (#""subnet": "10.9.0.0/24", "routes": [{"dst": "nowhere"}]"#, "invalid CIDR"),
        ])
    func pluginRefusals(ipam: String, rule: String) throws {
        let conflist = """
            {"name": "br", "cniVersion": "0.3.1", "plugins": [
              {"type": "bridge",
               "ipam": {"type": "host-local", \(ipam)}}]}
            """
        let report = Fixtures.detect(node(conflist))
        let invalid = report.findings(.cniConfigInvalid)
        #expect(invalid.contains { $0.evidence.joined().contains(rule) }, "\(report.findings)")
        #expect(invalid.contains { $0.evidence.first?.contains("10-x.conflist:3:") == true }, "\(invalid)")
        #expect(report.exitStatus == 1)
    }

    @Test("an mtu the plugin cannot take", arguments: ["-1", "70000", "9223372036854775808", "1.5", "true"])
    func mtuRefused(mtu: String) {
        let report = Fixtures.detect(
            node(
                #"{"name":"br","cniVersion":"0.3.1","plugins":[{"type":"bridge","mtu":\#(mtu),"ipam":{"type":"host-local","subnet":"10.9.0.0/24"}}]}"#
            ))
        #expect(report.findings(.cniConfigInvalid).contains { $0.evidence.joined().contains("mtu") }, "\(mtu): \(report.findings)")
    }

    @Test(
        "node MTU files read strictly: nonsense is a finding, never another number",
        arguments: [
            ("/var/lib/calico/mtu", "-1"), ("/var/lib/calico/mtu", "1e3"), ("/var/lib/calico/mtu", "abc\u{0}"),
            ("/run/flannel/subnet.env", "FLANNEL_MTU=-1500"), ("/run/flannel/subnet.env", "FLANNEL_MTU=99999999999999999999"),
        ])
    func nodeMTUFiles(path: String, content: String) {
        let calico = path.contains("calico")
        let conflist =
            calico
            ? #"{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico","mtu":0,"ipam":{"type":"calico-ipam"}}]}"#
            : Fixtures.flannelConflist
        let tree = node(conflist).write(path, content + "\n").plugins(["calico", "calico-ipam"])
        let report = Fixtures.detect(tree)
        #expect(report.mtu == nil, "\(String(describing: report.mtu))")
        #expect(report.findings(.cniConfigInvalid).contains { $0.hop == path }, "\(report.findings)")
    }

    @Test("45,000 repeated keys: bounded findings in linear time")
    func repeatedKeys() {
        let members = (0..<22_500).map { "\"k\($0)\": 1, \"k\($0)\": 2" }.joined(separator: ", ")
        let conflist =
            #"{"name":"br","cniVersion":"0.3.1","plugins":[{"type":"bridge","ipam":{"type":"host-local","subnet":"10.9.0.0/24"}, \#(members)}]}"#
        let clock = ContinuousClock()
        var report: DetectCNIReport?
        let elapsed = clock.measure { report = Fixtures.detect(node(conflist)) }
        #expect(elapsed < .seconds(5), "\(elapsed)")
        #expect((report?.findings.count ?? 0) < 40)
    }
}

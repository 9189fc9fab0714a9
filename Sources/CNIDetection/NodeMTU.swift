import ConfigFormats
import Diagnosis
import NodeFiles

/// Where the pod MTU really comes from when the conf does not state it: flannel's subnet.env,
/// calico's /var/lib/calico/mtu (when the conf says 0).
enum NodeMTU {
    static let flannelSubnetEnv = "/run/flannel/subnet.env"
    static let calicoMTUFile = "/var/lib/calico/mtu"
    static let flannelNetConf = ["/etc/kube-flannel/net-conf.json", "/run/flannel/net-conf.json"]

    /// The MTU and where it came from; a node file whose value is no MTU is a finding, never
    /// read as some other number (`-1` as 1, `1e3` as 13).
    /// The MTU pods get, and where it comes from; or the node file that should give it and
    /// holds no MTU (a fact: ConfigInvalid.notAnMTU says it).
    static func effective(family: FamilyReading, root: NodeRoot) -> (mtu: Sourced<Int>?, notAnMTU: NotAnMTU?) {
        let name = family.family == "multus" ? family.delegate?.family : family.family
        if let configured = family.configuredMTU, configured > 0 {
            return (Sourced(configured, "the CNI config"), nil)
        }
        if name == "flannel" || name == "canal", let env = flannelEnvironment(root: root), let text = env["FLANNEL_MTU"] {
            let source = "\(flannelSubnetEnv) (FLANNEL_MTU)"
            guard let mtu = strict(text) else { return (nil, NotAnMTU(text: text, source: flannelSubnetEnv, key: "FLANNEL_MTU=")) }
            return (Sourced(mtu, source), nil)
        }
        if name == "calico" || name == "canal", let text = try? root.readText(calicoMTUFile) {
            guard let mtu = strict(text) else { return (nil, NotAnMTU(text: text, source: calicoMTUFile, key: "")) }
            return (Sourced(mtu, "\(calicoMTUFile) (calico's auto-detected MTU, used when the conf says 0)"), nil)
        }
        return (nil, nil)
    }

    /// A node file's text where an MTU should be.
    struct NotAnMTU {
        var text: String
        var source: String
        var key: String
    }

    /// Decimal digits only (surrounding blanks and a newline allowed), 68 to 65535: what the
    /// daemons write and the kernel accepts.
    static func strict(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters()
        guard !trimmed.isEmpty, trimmed.count <= 5, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = Int(trimmed), (68...65535).contains(value)
        else { return nil }
        return value
    }

    static func flannelEnvironment(root: NodeRoot) -> EnvironmentFile? {
        (try? root.readText(flannelSubnetEnv)).map(EnvironmentFile.parse)
    }

    /// flannel's Backend.Type, where net-conf.json is visible under the root.
    static func flannelBackend(root: NodeRoot) -> String? {
        for path in flannelNetConf {
            guard let bytes = try? root.read(path), let conf = try? JSONParser.parse(bytes: bytes) else { continue }
            return conf["Backend"]?["Type"]?.string ?? "vxlan"
        }
        return nil
    }
}

import ConfigFormats
import NodeFiles

/// Where the pod MTU really comes from when the conf does not state it: flannel's subnet.env,
/// calico's /var/lib/calico/mtu (when the conf says 0).
enum NodeMTU {
    static let flannelSubnetEnv = "/run/flannel/subnet.env"
    static let calicoMTUFile = "/var/lib/calico/mtu"
    static let flannelNetConf = ["/etc/kube-flannel/net-conf.json", "/run/flannel/net-conf.json"]

    static func effective(family: FamilyReading, root: NodeRoot) -> Sourced<Int>? {
        let name = family.family == "multus" ? family.delegate?.family : family.family
        if let configured = family.configuredMTU, configured > 0 {
            return Sourced(configured, "the CNI config")
        }
        if name == "flannel" || name == "canal", let env = flannelEnvironment(root: root),
           let mtu = env["FLANNEL_MTU"].flatMap({ Int($0) }) {
            return Sourced(mtu, "\(flannelSubnetEnv) (FLANNEL_MTU)")
        }
        if name == "calico" || name == "canal",
           let text = try? root.readText(calicoMTUFile), let mtu = Int(text.filter { $0.isNumber }) {
            return Sourced(mtu, "\(calicoMTUFile) (calico's auto-detected MTU, used when the conf says 0)")
        }
        return nil
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

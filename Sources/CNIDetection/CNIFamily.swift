/// What a network configuration identifies: the product that wrote it (the corpus's family
/// names), how cilium is chained, and what a multus config delegates to.
public struct FamilyReading: Sendable, Equatable {
    public var family: String?
    /// For cilium chained behind another plugin: `flannel`, `aws-cni`, `generic-veth`.
    public var chainingMode: String?
    /// For multus: the delegate (cluster network) chain and its family.
    public var delegate: DelegateNetwork?
    public var encapsulation: Sourced<Encapsulation>
    /// The MTU written in the configuration (literal 0 kept: calico's "detect it").
    public var configuredMTU: Int?
    public var ipamType: String?
    public var subnets: [String]
}

/// The network multus hands pods first: `delegates[0]` or `clusterNetwork`.
public struct DelegateNetwork: Sendable, Equatable {
    public var types: [String]
    public var family: String?
    /// Where it was found: "delegates[0]", or a conf dir file.
    public var source: String
}

/// What the node around a configuration tells about it, beyond the file itself.
public struct FamilyContext: Sendable {
    /// flannel's Backend.Type from net-conf.json, where netdoctor can see it.
    public var flannelBackend: String?
    /// Interface names in the node's network namespace (flannel.1, vxlan.calico, tunl0, …).
    public var liveDevices: Set<String>
    /// Other loadable networks of the conf dir, by file name, for multus's clusterNetwork.
    public var siblings: [String: NetworkConfig]

    public init(flannelBackend: String? = nil, liveDevices: Set<String> = [], siblings: [String: NetworkConfig] = [:]) {
        self.flannelBackend = flannelBackend
        self.liveDevices = liveDevices
        self.siblings = siblings
    }
}

public enum CNIFamily {
    /// Classifies a network configuration.
    public static func read(_ network: NetworkConfig, fileName: String, context: FamilyContext) -> FamilyReading {
        let types = network.types
        let family = familyName(network, fileName: fileName)
        var reading = FamilyReading(
            family: family, chainingMode: nil, delegate: nil,
            encapsulation: Sourced(.unknown, "not known"),
            configuredMTU: network.primary?.mtu?.value,
            ipamType: network.primary?.ipamType,
            subnets: network.primary?.subnets ?? [])
        if types.first == "flannel" {
            let delegate = network.primary?.raw["delegate"]?.object
            reading.ipamType = delegate?.field("ipam")?.field("type")?.string ?? "host-local"
            reading.configuredMTU = delegate?["mtu"]?.int ?? reading.configuredMTU
        }
        if types.contains("cilium-cni"), let first = types.first, first != "cilium-cni" {
            reading.chainingMode =
                switch first {
                case "flannel": "flannel"
                case "aws-cni": "aws-cni"
                default: "generic-veth"
                }
        }
        if family == "multus" {
            let delegate = delegateNetwork(network, context: context)
            reading.delegate = delegate.map { DelegateNetwork(types: $0.network?.types ?? [], family: $0.family, source: $0.source) }
            if let d = delegate {
                if let net = d.network {
                    let inner = read(net, fileName: d.source, context: context)
                    reading.configuredMTU = inner.configuredMTU
                    reading.ipamType = inner.ipamType
                    reading.subnets = inner.subnets
                    reading.encapsulation = inner.encapsulation
                } else {
                    // Only the file name is known: its family, not how it is set up.
                    reading.encapsulation = Sourced(.unknown, "clusterNetwork \(d.source) is not on this node")
                    reading.ipamType = nil
                }
            }
            return reading
        }
        if let chained = reading.chainingMode {
            // Cilium chained behind another plugin: that plugin carries the packets.
            var primary = network
            primary.plugins = Array(network.plugins.prefix(while: { $0.type != "cilium-cni" }))
            let primaryFamily = familyName(primary, fileName: "")
            if let live = liveEncapsulation(family: "cilium", context: context) {
                reading.encapsulation = live
            } else {
                reading.encapsulation = defaultEncapsulation(family: primaryFamily, network: primary, context: context)
                reading.encapsulation.source += " (cilium chained in \(chained) mode)"
            }
            return reading
        }
        reading.encapsulation = defaultEncapsulation(family: family, network: network, context: context)
        return reading
    }

    /// The family name of a configuration, as the corpus names products.
    public static func familyName(_ network: NetworkConfig, fileName: String) -> String? {
        let types = network.types
        guard let first = types.first else { return nil }
        let name = network.name ?? ""
        if types.contains("multus") || types.contains("multus-shim") { return "multus" }
        if first == "azure-vnet" { return "azure-cni" }
        if types.contains("cilium-cni") { return "cilium" }
        switch first {
        case "calico": return fileName.lowercased().contains("canal") ? "canal" : "calico"
        case "flannel": return "flannel"
        case "weave-net", "weave-plugin": return "weave"
        case "antrea": return "antrea"
        case "aws-cni": return "aws-vpc-cni"
        case "kube-ovn": return "kube-ovn"
        case "ovn-k8s-cni-overlay": return "ovn-kubernetes"
        default: break
        }
        if first == "bridge", network.primary?.bridge == "kube-bridge" { return "kube-router" }
        if name == "kindnet" { return "kindnet" }
        if name == "gke-pod-network" { return "gke-netd" }
        if name == "containerd-net" { return "containerd-net" }
        if name == "crio", first == "bridge" { return "crio-bridge" }
        if types.allSatisfy({ $0 == "loopback" }) { return "loopback" }
        return first
    }

    static func defaultEncapsulation(family: String?, network: NetworkConfig?, context: FamilyContext) -> Sourced<Encapsulation> {
        if let live = liveEncapsulation(family: family, context: context) { return live }
        switch family {
        case "flannel", "canal":
            if let backend = context.flannelBackend {
                return Sourced(Encapsulation.flannelBackend(backend), "flannel backend \(backend) in net-conf.json")
            }
            return Sourced(.vxlan, "flannel's default backend (vxlan); net-conf.json not visible here")
        case "calico":
            // calico.yaml's install-cni writes `nodename` (or etcd_endpoints for the etcd flavour);
            // its default IP pool uses IP-in-IP. The operator writes neither, and its
            // Installation resource decides.
            if let raw = network?.primary?.raw, raw["nodename"] != nil || raw["etcd_endpoints"] != nil {
                return Sourced(.ipip, "calico.yaml's default IP pool (IPIP Always)")
            }
            return Sourced(.unknown, "decided by calico's IP pools (operator Installation), not by this file")
        case "cilium":
            if network?.primary?.ipamType == "azure-ipam" {
                return Sourced(.unknown, "Azure CNI powered by Cilium: the datapath is decided by AKS")
            }
            return Sourced(.vxlan, "cilium's default tunnel mode (vxlan)")
        case "weave": return Sourced(.vxlan, "weave's fastdp datapath (vxlan)")
        case "antrea": return Sourced(.geneve, "antrea's default tunnelType (geneve)")
        case "kube-ovn": return Sourced(.geneve, "kube-ovn's default tunnel type (geneve)")
        case "ovn-kubernetes": return Sourced(.geneve, "OVN's geneve overlay")
        case "aws-vpc-cni": return Sourced(.none, "VPC-routed pod addresses")
        case "azure-cni":
            if network?.primary?.raw.field("ipam")?.field("mode")?.string == "overlay" {
                return Sourced(.unknown, "Azure CNI Overlay: carried by Azure's network, not stated here")
            }
            return Sourced(.none, "VNet-routed pod addresses")
        case nil, "kindnet", "gke-netd", "kube-router", "containerd-net", "crio-bridge", "loopback",
            "bridge", "ptp", "macvlan", "ipvlan", "host-device", "vlan", "tuning", "dummy", "tap":
            return Sourced(.none, "routed or bridged without an overlay")
        default:
            return Sourced(.unknown, "not known for \(family ?? "this CNI")")
        }
    }

    /// Overlay devices the CNI's agent creates, when they exist in the node's namespace.
    static func liveEncapsulation(family: String?, context: FamilyContext) -> Sourced<Encapsulation>? {
        let devices = context.liveDevices
        let candidates: [(String, Encapsulation)]
        switch family {
        case "flannel", "canal":
            candidates = [("flannel.1", .vxlan), ("flannel-wg", .wireguard), ("flannel.ipip", .ipip)]
        case "calico":
            candidates = [("vxlan.calico", .vxlan), ("wireguard.cali", .wireguard), ("tunl0", .ipip)]
        case "cilium":
            candidates = [("cilium_vxlan", .vxlan), ("cilium_geneve", .geneve)]
        case "antrea":
            candidates = [("antrea-tun0", .geneve)]
        case "weave":
            candidates = [("vxlan-6784", .vxlan)]
        case "bridge", "ptp", "macvlan", "ipvlan", "kube-router", "containerd-net", "crio-bridge", nil:
            // Reference plugins carry no overlay of their own; one set up beside them (a flannel
            // daemon, OVS) shows as a well-known device.
            candidates = [
                ("flannel.1", .vxlan), ("flannel.ipip", .ipip), ("flannel-wg", .wireguard), ("vxlan.calico", .vxlan),
                ("vxlan_sys_4789", .vxlan), ("genev_sys_6081", .geneve),
            ]
        default:
            candidates = []
        }
        for (device, encapsulation) in candidates where devices.contains(device) {
            return Sourced(encapsulation, "device \(device) on this node")
        }
        return nil
    }

    /// The delegate network of a multus config: the first of `delegates`, else `clusterNetwork`
    /// looked up in the conf dir by file name or network name.
    static func delegateNetwork(
        _ network: NetworkConfig, context: FamilyContext
    )
        -> (network: NetworkConfig?, family: String?, source: String)?
    {
        let raw = network.primary?.raw ?? network.raw
        if let first = raw["delegates"]?.array?.first?.object {
            let delegate = NetworkConfig(document: first, asList: first.field("plugins") != nil)
            return (delegate, familyName(delegate, fileName: ""), "delegates[0]")
        }
        guard let cluster = raw["clusterNetwork"]?.string else { return nil }
        let fileName = String(cluster.split(separator: "/").last ?? Substring(cluster))
        if let sibling = context.siblings[fileName] {
            return (sibling, familyName(sibling, fileName: fileName), fileName)
        }
        if let (file, sibling) = context.siblings.first(where: { $0.value.name == cluster }) {
            return (sibling, familyName(sibling, fileName: file), file)
        }
        // Not on this node (yet): the file name is still a strong hint of the product.
        let lower = fileName.lowercased()
        let known = ["flannel", "calico", "canal", "cilium", "weave", "antrea", "kube-ovn", "ovn-kubernetes", "kindnet"]
        return (nil, known.first(where: { lower.contains($0) }), cluster)
    }
}

/// The tunnel devices CNIs carry pod traffic between nodes over, and what each adds to every
/// packet it carries: defined once, for the path walker, the MTU search and detect-cni alike.
public enum Tunnels {
    /// Link kinds (IFLA_INFO_KIND) that encapsulate pod traffic towards other nodes.
    public static let overlayKinds: Set<String> = ["vxlan", "geneve", "ipip", "wireguard"]
    /// The overlays that carry Ethernet frames: remote VTEPs are their neighbour and FDB entries.
    public static let linkLayerOverlayKinds: Set<String> = ["vxlan", "geneve"]

    /// Bytes a tunnel of `kind` adds on the wire (FACTS §4): VXLAN and Geneve without options an
    /// outer IP header, UDP 8, their header 8 and the inner Ethernet 14; IP-in-IP the outer IP
    /// header; WireGuard the outer IP header, UDP 8 and its own 32. The outer header is 20 bytes
    /// over an IPv4 underlay and 40 over IPv6. nil: not a tunnel this table knows.
    public static func overhead(kind: String, outerIPv6: Bool = false) -> Int? {
        let outer = outerIPv6 ? 40 : 20
        switch kind {
        case "vxlan", "geneve": return outer + 8 + 8 + 14
        case "ipip": return outer
        case "wireguard": return outer + 8 + 32
        default: return nil
        }
    }
}

extension Link {
    /// An overlay tunnel device (Tunnels.overlayKinds).
    public var isOverlay: Bool { kind.map(Tunnels.overlayKinds.contains) ?? false }
    /// An overlay that carries Ethernet frames (Tunnels.linkLayerOverlayKinds).
    public var isLinkLayerOverlay: Bool { kind.map(Tunnels.linkLayerOverlayKinds.contains) ?? false }
}

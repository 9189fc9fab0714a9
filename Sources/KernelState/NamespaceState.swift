import NetAddress
import Netlink
import NetlinkCodec
import NetSystem

/// Everything netdoctor reads of one network namespace: links, addresses, routes (every table),
/// neighbours, the bridge forwarding database, and the sysctls that decide forwarding.
public struct NamespaceState: Sendable {
    public var links: [Link]
    public var addresses: [InterfaceAddress]
    public var routes: [Route]
    public var neighbors: [Neighbor]
    /// AF_BRIDGE neighbours, as `bridge fdb show` reads them (VXLAN remote VTEPs among them).
    public var forwardingDatabase: [Neighbor]
    /// net.ipv4.ip_forward, net.ipv4.conf.*.rp_filter and .forwarding, by sysctl name.
    public var sysctls: [String: String]

    public func link(index: Int32) -> Link? { links.first { $0.index == index } }
    public func link(named name: String) -> Link? { links.first { $0.name == name } }
    public func addresses(of index: Int32) -> [InterfaceAddress] { addresses.filter { $0.interfaceIndex == index } }

    /// Main-table routes, as `ip route` shows them.
    public var mainRoutes: [Route] { routes.filter { $0.table == Route.mainTable } }

    public var ipForwarding: Bool? { sysctls["net.ipv4.ip_forward"].map { $0 == "1" } }
}

/// Reads a namespace's state over rtnetlink and procfs.
public enum NamespaceReader {
    /// Opens a socket inside `namespace` (nil: the caller's own), reads the sysctls there, and
    /// dumps everything from this thread.
    public static func read(_ namespace: NetNamespace?, thread: NamespaceThread = .shared) throws -> NamespaceState {
        let (socket, sysctls): (RouteSocket, [String: String])
        if let namespace {
            (socket, sysctls) = try thread.run(in: namespace) { (try RouteSocket(), sysctlsHere()) }
        } else {
            (socket, sysctls) = (try RouteSocket(), sysctlsHere())
        }
        return try read(socket: socket, sysctls: sysctls)
    }

    /// Dumps everything over a socket already open in the namespace.
    public static func read(socket: RouteSocket, sysctls: [String: String]) throws -> NamespaceState {
        let links = try socket.dump(RouteRequest.dump(.getLink)).filter { $0.type == .newLink }.map { try Link($0) }
        let addresses = try socket.dump(RouteRequest.dump(.getAddress)).filter { $0.type == .newAddress }.map { try InterfaceAddress($0) }
        let routes = try socket.dump(RouteRequest.dump(.getRoute)).filter { $0.type == .newRoute }.map { try Route($0) }
        let neighbors = try socket.dump(RouteRequest.dump(.getNeighbor, family: .unspecified))
            .filter { $0.type == .newNeighbor }.map { try Neighbor($0) }
        return NamespaceState(links: links, addresses: addresses, routes: routes,
                              neighbors: neighbors.filter { $0.family != Neighbor.familyBridge },
                              forwardingDatabase: neighbors.filter { $0.family == Neighbor.familyBridge },
                              sysctls: sysctls)
    }

    /// net.ipv4.ip_forward and the per-interface forwarding and rp_filter values, read in the
    /// calling thread's namespace.
    public static func sysctlsHere() -> [String: String] {
        var values: [String: String] = [:]
        for name in ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.rp_filter",
                     "net.ipv4.conf.all.forwarding", "net.ipv4.conf.default.rp_filter"] {
            values[name] = Sysctl.read(name)
        }
        for interface in Sysctl.interfaces() {
            for key in ["rp_filter", "forwarding", "proxy_arp"] {
                let name = "net.ipv4.conf.\(interface).\(key)"
                values[name] = Sysctl.read(name)
            }
        }
        return values
    }
}

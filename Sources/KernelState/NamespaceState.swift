import NetAddress
import Netlink
import NetlinkCodec
import NetSystem

/// Everything netdoctor reads of one network namespace: links, addresses, routes (every table),
/// neighbours, the bridge forwarding database, and the sysctls that decide forwarding.
public struct NamespaceState: Sendable {
    public var links: [Link] { didSet { indexLinks() } }
    public var addresses: [InterfaceAddress] { didSet { indexAddresses() } }
    public var routes: [Route] { didSet { indexRoutes() } }
    public var neighbors: [Neighbor] { didSet { indexNeighbors() } }
    /// AF_BRIDGE neighbours, as `bridge fdb show` reads them (VXLAN remote VTEPs among them).
    public var forwardingDatabase: [Neighbor]
    /// net.ipv4.ip_forward, net.ipv4.conf.*.rp_filter and .forwarding, by sysctl name.
    public var sysctls: [String: String]

    // Indexes built once per dump (and again when a dump is replaced): a node has thousands of
    // links and tens of thousands of routes, and checks ask per interface. Positions in the arrays.
    private var linksByIndex: [Int32: Int] = [:]
    private var linksByName: [String: Int] = [:]
    private var addressesByIndex: [Int32: [Int]] = [:]
    private var routesByOutput: [Int32: [Int]] = [:]
    private var neighborsByIndex: [Int32: [Int]] = [:]
    private var mainRoutePositions: [Int] = []
    /// Main-table routes, as `ip route` shows them: a view of `routes`, not a copy (tens of
    /// thousands of routes are megabytes).
    public var mainRoutes: RouteSelection { RouteSelection(routes: routes, positions: mainRoutePositions) }

    public init(
        links: [Link], addresses: [InterfaceAddress], routes: [Route], neighbors: [Neighbor],
        forwardingDatabase: [Neighbor], sysctls: [String: String]
    ) {
        self.links = links
        self.addresses = addresses
        self.routes = routes
        self.neighbors = neighbors
        self.forwardingDatabase = forwardingDatabase
        self.sysctls = sysctls
        indexLinks()
        indexAddresses()
        indexRoutes()
        indexNeighbors()
    }

    private mutating func indexLinks() {
        linksByIndex = [:]
        linksByName = [:]
        for (i, link) in links.enumerated() {
            linksByIndex[link.index] = i
            linksByName[link.name] = linksByName[link.name] ?? i
        }
    }

    private mutating func indexAddresses() {
        addressesByIndex = [:]
        for (i, address) in addresses.enumerated() { addressesByIndex[address.interfaceIndex, default: []].append(i) }
    }

    private mutating func indexRoutes() {
        routesByOutput = [:]
        mainRoutePositions = []
        for (i, route) in routes.enumerated() {
            if let out = route.outputIndex { routesByOutput[out, default: []].append(i) }
            if route.table == .main { mainRoutePositions.append(i) }
        }
    }

    private mutating func indexNeighbors() {
        neighborsByIndex = [:]
        for (i, neighbor) in neighbors.enumerated() { neighborsByIndex[neighbor.interfaceIndex, default: []].append(i) }
    }

    public func link(index: Int32) -> Link? { linksByIndex[index].map { links[$0] } }
    /// An interface's name without copying its whole Link (routes ask this thousands of times).
    public func name(ofIndex index: Int32) -> String? { linksByIndex[index].map { links[$0].name } }
    public func link(named name: String) -> Link? { linksByName[name].map { links[$0] } }
    public func addresses(of index: Int32) -> [InterfaceAddress] { (addressesByIndex[index] ?? []).map { addresses[$0] } }
    /// Routes of every table that leave through an interface (RTA_OIF; multipath routes are not
    /// indexed by their next hops' interfaces).
    public func routes(through index: Int32) -> [Route] { (routesByOutput[index] ?? []).map { routes[$0] } }
    /// The neighbour entries of one interface.
    public func neighbors(on index: Int32) -> [Neighbor] { (neighborsByIndex[index] ?? []).map { neighbors[$0] } }
    /// The entry for `address` on an interface, as the kernel keys its table.
    public func neighbor(_ address: IPAddress, on index: Int32) -> Neighbor? {
        neighborsByIndex[index]?.lazy.map { self.neighbors[$0] }.first { $0.destination == address }
    }

    public var ipForwarding: Bool? { sysctls["net.ipv4.ip_forward"].map { $0 == "1" } }
    /// net.ipv6.conf.all.forwarding: IPv6's switch (setting it sets every interface's).
    public var ipv6Forwarding: Bool? { sysctls["net.ipv6.conf.all.forwarding"].map { $0 == "1" } }
    /// A family's forwarding switch.
    public func forwarding(_ family: IPFamily) -> Bool? { family == .ipv4 ? ipForwarding : ipv6Forwarding }
    /// An interface's IPv6 sysctl (accept_ra, forwarding, proxy_ndp), when it was read.
    public func ipv6Setting(_ key: String, of interface: String) -> Int? { interfaceSetting(.ipv6, key, of: interface) }

    /// An interface's switch (net.ipv4.conf.IF.KEY: forwarding, rp_filter, proxy_arp; IPv6's:
    /// forwarding, accept_ra, proxy_ndp): from its link's IFLA_AF_SPEC, which every link carries
    /// however many the namespace has (the sysctls keep a big namespace's veths out), else from
    /// the sysctls read (a recording of a link without it).
    public func interfaceSetting(_ family: IPFamily, _ key: String, of interface: String) -> Int? {
        if let value = link(named: interface)?.deviceConfig?.value(ipv6: family == .ipv6, key) { return Int(value) }
        return sysctls["net.\(family == .ipv4 ? "ipv4" : "ipv6").conf.\(interface).\(key)"].flatMap { Int($0) }
    }
}

/// The five dumps a namespace's state is made of, as the kernel sent them: what a recording
/// keeps, and what a replay parses exactly as a live read does.
public struct NamespaceDumps: Sendable {
    public var links: [NetlinkMessage]
    public var addresses: [NetlinkMessage]
    public var routes: [NetlinkMessage]
    /// ARP/NDP entries and bridge FDB entries alike (AF_UNSPEC).
    public var neighbors: [NetlinkMessage]
    /// The bridge forwarding database, which answers only a dump asked for with AF_BRIDGE.
    public var forwardingDatabase: [NetlinkMessage]
    /// RTM_NEWNETCONF for IPv4's "all" and "default" and IPv6's "all": the switches no link
    /// carries. Empty where a family is off or the kernel refused.
    public var familyConfigs: [NetlinkMessage]

    public init(
        links: [NetlinkMessage], addresses: [NetlinkMessage], routes: [NetlinkMessage], neighbors: [NetlinkMessage],
        forwardingDatabase: [NetlinkMessage], familyConfigs: [NetlinkMessage] = []
    ) {
        self.links = links
        self.addresses = addresses
        self.routes = routes
        self.neighbors = neighbors
        self.forwardingDatabase = forwardingDatabase
        self.familyConfigs = familyConfigs
    }

    /// One pass per dump: big namespaces send tens of thousands of messages.
    public static func read(socket: NetlinkSocket) throws -> NamespaceDumps {
        NamespaceDumps(
            links: try socket.dump(RouteRequest.dump(.getLink)),
            addresses: try socket.dump(RouteRequest.dump(.getAddress)),
            routes: try socket.dump(RouteRequest.dump(.getRoute)),
            neighbors: try socket.dump(RouteRequest.dump(.getNeighbor, family: .unspecified)),
            forwardingDatabase: try socket.dump(RouteRequest.dump(.getNeighbor, family: .bridge)),
            familyConfigs: [
                (.inet, FamilyConfig.allInterfaces), (.inet, FamilyConfig.defaultInterface), (.inet6, FamilyConfig.allInterfaces),
            ].compactMap { family, index in try? socket.request(RouteRequest.netconf(family: family, interfaceIndex: index)) })
    }

    /// The forwarding sysctls, by their names, as procfs would show them: the families' from
    /// the netconf answers, each of `interfaces`' from its link's IFLA_AF_SPEC.
    public func sysctls(links: [Link], interfaces: [String]) -> [String: String] {
        var values: [String: String] = [:]
        func set(_ name: String, _ value: Int32?) { if let value { values[name] = String(value) } }
        for config in familyConfigs.compactMap({ try? FamilyConfig($0) }) {
            switch (AddressFamily(rawValue: config.family), config.interfaceIndex) {
            case (.inet, FamilyConfig.allInterfaces):
                // net.ipv4.ip_forward is all.forwarding under another name (devinet.c).
                set("net.ipv4.ip_forward", config.forwarding)
                set("net.ipv4.conf.all.forwarding", config.forwarding)
                set("net.ipv4.conf.all.rp_filter", config.rpFilter)
                set("net.ipv4.conf.all.proxy_arp", config.proxyNeighbor)
            case (.inet, FamilyConfig.defaultInterface): set("net.ipv4.conf.default.rp_filter", config.rpFilter)
            case (.inet6, FamilyConfig.allInterfaces): set("net.ipv6.conf.all.forwarding", config.forwarding)
            default: break
            }
        }
        let wanted = Set(interfaces)
        for link in links where wanted.contains(link.name) {
            guard let config = link.deviceConfig else { continue }
            set("net.ipv4.conf.\(link.name).rp_filter", config.rpFilter)
            set("net.ipv4.conf.\(link.name).forwarding", config.ipv4Forwarding)
            set("net.ipv4.conf.\(link.name).proxy_arp", config.proxyARP)
            set("net.ipv6.conf.\(link.name).forwarding", config.ipv6Forwarding)
            set("net.ipv6.conf.\(link.name).accept_ra", config.acceptRA)
            set("net.ipv6.conf.\(link.name).proxy_ndp", config.proxyNDP)
        }
        return values
    }

    public func parsedLinks() throws -> [Link] { try Self.parse(links, .newLink, Link.init) }

    public func state(links: [Link]? = nil, sysctls: [String: String]) throws -> NamespaceState {
        let neighbors = try Self.parse(self.neighbors, .newNeighbor, Neighbor.init)
        let forwarding = try Self.parse(forwardingDatabase, .newNeighbor, Neighbor.init)
        return NamespaceState(
            links: try links ?? parsedLinks(),
            addresses: try Self.parse(addresses, .newAddress, InterfaceAddress.init),
            routes: try Self.parse(routes, .newRoute, Route.init),
            neighbors: neighbors.filter { $0.family != .bridge },
            forwardingDatabase: forwarding.filter { $0.family == .bridge },
            sysctls: sysctls)
    }

    /// The messages of one type, parsed into an array sized once (tens of thousands of routes:
    /// growing by doubling would hold up to twice their size).
    private static func parse<Value>(
        _ messages: [NetlinkMessage], _ type: MessageType,
        _ make: (NetlinkMessage) throws -> Value
    ) throws -> [Value] {
        var values: [Value] = []
        values.reserveCapacity(messages.count)
        for message in messages where message.type == type { values.append(try make(message)) }
        return values
    }
}

/// Which interfaces' sysctls a namespace's read keeps. Full reads go through PathFacts'
/// NamespaceHandle, once per namespace.
public enum NamespaceReader {
    /// Whose per-interface sysctls are kept: every interface of a small namespace (a pod, a
    /// node); in a big one only the others than veths (thousands of veths would be tens of
    /// thousands of names kept for no check).
    public static func sysctlInterfaces(_ links: [Link]) -> [String] {
        // lo carries nothing between namespaces: its switches decide nothing a check asks.
        links.filter { $0.name != "lo" && (links.count <= 64 || $0.kind != "veth") }.map(\.name)
    }
}

/// Some of a namespace's routes, in the kernel's order, read in place.
public struct RouteSelection: RandomAccessCollection, Sendable {
    let routes: [Route]
    let positions: [Int]
    public var startIndex: Int { positions.startIndex }
    public var endIndex: Int { positions.endIndex }
    public subscript(position: Int) -> Route { routes[positions[position]] }
}

import NetAddress

/// rtnetlink header fields as named values (as netlink-packet-route has them): a value this code
/// does not name is kept as it came (`other`), so nothing is lost and nobody compares a raw byte.

/// AF_* of an rtmsg, ifaddrmsg or ndmsg.
public enum AddressFamily: Sendable, Hashable {
    case unspecified, inet, inet6, bridge
    case other(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .unspecified
        case 2: self = .inet
        case 7: self = .bridge
        case 10: self = .inet6
        default: self = .other(rawValue)
        }
    }

    public init(_ family: IPFamily) { self = family == .ipv4 ? .inet : .inet6 }

    public var rawValue: UInt8 {
        switch self {
        case .unspecified: 0
        case .inet: 2
        case .bridge: 7
        case .inet6: 10
        case .other(let value): value
        }
    }

    /// IPv4 or IPv6; nil for any other family.
    public var ipFamily: IPFamily? {
        switch self {
        case .inet: .ipv4
        case .inet6: .ipv6
        default: nil
        }
    }
}

/// RTN_*: what a route does with a packet.
public enum RouteType: Sendable, Hashable, CustomStringConvertible {
    case unspecified, unicast, local, broadcast, anycast, multicast, blackhole, unreachable, prohibit, `throw`, nat
    case other(UInt8)

    static let named: [RouteType] = [
        .unspecified, .unicast, .local, .broadcast, .anycast, .multicast, .blackhole, .unreachable, .prohibit, .throw, .nat,
    ]

    public init(rawValue: UInt8) { self = Int(rawValue) < Self.named.count ? Self.named[Int(rawValue)] : .other(rawValue) }

    public var rawValue: UInt8 {
        if case .other(let value) = self { return value }
        return UInt8(Self.named.firstIndex(of: self)!)
    }

    /// As `ip route` prints it.
    public var description: String {
        switch self {
        case .unspecified: "none"
        case .unicast: "unicast"
        case .local: "local"
        case .broadcast: "broadcast"
        case .anycast: "anycast"
        case .multicast: "multicast"
        case .blackhole: "blackhole"
        case .unreachable: "unreachable"
        case .prohibit: "prohibit"
        case .throw: "throw"
        case .nat: "nat"
        case .other(let value): "type \(value)"
        }
    }
}

/// RT_TABLE_*: the routing table (RTA_TABLE where the kernel sends it, else rtmsg's 8 bits).
public enum RouteTable: Sendable, Hashable, CustomStringConvertible {
    case unspecified, `default`, main, local
    case other(UInt32)

    public init(rawValue: UInt32) {
        switch rawValue {
        case 0: self = .unspecified
        case 253: self = .default
        case 254: self = .main
        case 255: self = .local
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt32 {
        switch self {
        case .unspecified: 0
        case .default: 253
        case .main: 254
        case .local: 255
        case .other(let value): value
        }
    }

    /// As `ip route` names it.
    public var description: String {
        switch self {
        case .unspecified: "unspec"
        case .default: "default"
        case .main: "main"
        case .local: "local"
        case .other(let value): String(value)
        }
    }
}

/// RTPROT_*: who installed a route.
public enum RouteProtocol: Sendable, Hashable {
    case unspecified, redirect, kernel, boot, `static`, routerAdvertisement
    case other(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .unspecified
        case 1: self = .redirect
        case 2: self = .kernel
        case 3: self = .boot
        case 4: self = .static
        case 9: self = .routerAdvertisement
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .unspecified: 0
        case .redirect: 1
        case .kernel: 2
        case .boot: 3
        case .static: 4
        case .routerAdvertisement: 9
        case .other(let value): value
        }
    }
}

/// RT_SCOPE_*: how far a route or an address reaches.
public enum RouteScope: Sendable, Hashable, CustomStringConvertible {
    case universe, site, link, host, nowhere
    case other(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .universe
        case 200: self = .site
        case 253: self = .link
        case 254: self = .host
        case 255: self = .nowhere
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .universe: 0
        case .site: 200
        case .link: 253
        case .host: 254
        case .nowhere: 255
        case .other(let value): value
        }
    }

    /// As `ip` prints it.
    public var description: String {
        switch self {
        case .universe: "global"
        case .site: "site"
        case .link: "link"
        case .host: "host"
        case .nowhere: "nowhere"
        case .other(let value): String(value)
        }
    }
}

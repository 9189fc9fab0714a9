/// The per-interface switches netdoctor judges, as the kernel sends them with every link
/// (IFLA_AF_SPEC): IPv4's from IFLA_INET_CONF, IPv6's from IFLA_INET6_CONF. The same values
/// as /proc/sys/net/ipv{4,6}/conf/IF/*, without a procfs read per switch per interface (twelve
/// opens per pod namespace were half of `check`'s time on a node of 110 pods).
public struct DeviceConfig: Sendable, Equatable {
    public var ipv4Forwarding: Int32?
    public var rpFilter: Int32?
    public var proxyARP: Int32?
    public var ipv6Forwarding: Int32?
    public var acceptRA: Int32?
    public var proxyNDP: Int32?

    public init() {}

    /// The switch procfs names net.ipv4.conf.IF.KEY (`ipv6`: net.ipv6.conf.IF.KEY); nil for a key
    /// the link does not carry here.
    public func value(ipv6: Bool, _ key: String) -> Int32? {
        switch (ipv6, key) {
        case (false, "forwarding"): ipv4Forwarding
        case (false, "rp_filter"): rpFilter
        case (false, "proxy_arp"): proxyARP
        case (true, "forwarding"): ipv6Forwarding
        case (true, "accept_ra"): acceptRA
        case (true, "proxy_ndp"): proxyNDP
        default: nil
        }
    }

    /// From IFLA_AF_SPEC's payload: one nested attribute per address family, typed by AF_*.
    /// Nil when neither family's configuration is there (a kernel or device without them).
    init?(afSpec: ArraySlice<UInt8>) {
        var found = false
        try? Attribute.forEach(in: afSpec) { family, payload in
            switch family {
            case UInt16(AddressFamily.inet.rawValue):
                try? Attribute.forEach(in: payload) { type, values in
                    guard type == IFLAInet.conf.rawValue else { return }
                    // IFLA_INET_CONF: u32 per IPV4_DEVCONF_*, the first (FORWARDING = 1) at offset 0.
                    ipv4Forwarding = Self.value(values, at: IPv4DevConf.forwarding - 1)
                    proxyARP = Self.value(values, at: IPv4DevConf.proxyARP - 1)
                    rpFilter = Self.value(values, at: IPv4DevConf.rpFilter - 1)
                    found = true
                }
            case UInt16(AddressFamily.inet6.rawValue):
                try? Attribute.forEach(in: payload) { type, values in
                    guard type == IFLAInet6.conf.rawValue else { return }
                    // IFLA_INET6_CONF: s32 per DEVCONF_*, indexed by the enum's value itself.
                    ipv6Forwarding = Self.value(values, at: IPv6DevConf.forwarding)
                    acceptRA = Self.value(values, at: IPv6DevConf.acceptRA)
                    proxyNDP = Self.value(values, at: IPv6DevConf.proxyNDP)
                    found = true
                }
            default: break
            }
        }
        if !found { return nil }
    }

    /// The `index`th 32-bit value of an array attribute; nil past its end (an older kernel's
    /// shorter array).
    private static func value(_ values: ArraySlice<UInt8>, at index: Int) -> Int32? {
        let offset = values.startIndex + index * 4
        guard index >= 0, offset + 4 <= values.endIndex else { return nil }
        return WireReader(values[offset...]).i32(0)
    }
}

/// The settings of a whole family that no link carries ("all" and "default"), as RTM_NEWNETCONF
/// answers them (linux/netconf.h).
public struct FamilyConfig: Sendable, Equatable {
    /// NETCONFA_IFINDEX: an interface, or NETCONFA_IFINDEX_ALL / _DEFAULT.
    public var interfaceIndex: Int32?
    public var family: UInt8
    public var forwarding: Int32?
    /// IPv4 only.
    public var rpFilter: Int32?
    /// proxy_arp for IPv4, proxy_ndp for IPv6.
    public var proxyNeighbor: Int32?

    public static let allInterfaces: Int32 = -1
    public static let defaultInterface: Int32 = -2

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        guard message.type == .newNetconf else {
            throw NetlinkDecodeError("\(message.type) is not RTM_NEWNETCONF", offset: 0)
        }
        let header = try GenericHeader(parsing: message.payload)
        family = header.family
        let attributes = try Attribute.parseAll(message.payload.dropFirst(GenericHeader.size))
        interfaceIndex = attributes.attribute(NETCONFA.interfaceIndex)?.i32
        forwarding = attributes.attribute(NETCONFA.forwarding)?.i32
        rpFilter = attributes.attribute(NETCONFA.rpFilter)?.i32
        proxyNeighbor = attributes.attribute(NETCONFA.proxyNeighbor)?.i32
    }
}

/// IFLA_INET_*: nested in IFLA_AF_SPEC's AF_INET.
public enum IFLAInet: UInt16, AttributeType {
    case conf = 1
}

/// IFLA_INET6_*: nested in IFLA_AF_SPEC's AF_INET6.
public enum IFLAInet6: UInt16, AttributeType {
    case flags = 1, conf = 2
}

/// IPV4_DEVCONF_* (linux/ip.h): 1-based; IFLA_INET_CONF holds value N at index N - 1.
public enum IPv4DevConf {
    public static let forwarding = 1
    public static let proxyARP = 3
    public static let rpFilter = 8
}

/// DEVCONF_* (linux/ipv6.h): 0-based, the index in IFLA_INET6_CONF.
public enum IPv6DevConf {
    public static let forwarding = 0
    public static let acceptRA = 3
    public static let proxyNDP = 22
}

/// NETCONFA_* (linux/netconf.h).
public enum NETCONFA: UInt16, AttributeType {
    case interfaceIndex = 1, forwarding = 2, rpFilter = 3, mcForwarding = 4, proxyNeighbor = 5
}

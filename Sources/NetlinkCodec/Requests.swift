import NetAddress

/// Address families in rtnetlink requests.
public enum AddressFamily: UInt8, Sendable {
    case unspecified = 0, inet = 2, bridge = 7, inet6 = 10
}

/// Builds the requests netdoctor sends; the socket layer fills in sequence and port.
public enum RouteRequest {
    /// A dump of links (RTM_GETLINK), addresses, routes or neighbours of one family.
    public static func dump(_ type: MessageType, family: AddressFamily = .unspecified) -> NetlinkMessage {
        var w = WireWriter()
        switch type {
        case .getLink:
            // struct ifinfomsg, then IFLA_EXT_MASK asking for VF info to be left out.
            w.u8(family.rawValue); w.u8(0); w.u16(0); w.i32(0); w.u32(0); w.u32(0)
            w.attribute(29, u32: 1)
        case .getAddress:
            w.u8(family.rawValue); w.u8(0); w.u8(0); w.u8(0); w.i32(0)
        case .getRoute:
            w.u8(family.rawValue); w.u8(0); w.u8(0); w.u8(0); w.u8(0); w.u8(0); w.u8(0); w.u8(0); w.u32(0)
        case .getNeighbor:
            w.u8(family.rawValue); w.u8(0); w.u16(0); w.i32(0); w.u16(0); w.u8(0); w.u8(0)
        default:
            w.u8(family.rawValue); w.pad()
        }
        return NetlinkMessage(type: type, flags: [.request, .dump], payload: w.bytes)
    }

    /// A route lookup as `ip route get DST [from SRC] [iif DEV] [oif DEV] [mark N]` does it:
    /// RTM_GETROUTE without NLM_F_DUMP.
    public static func lookup(destination: IPAddress, source: IPAddress? = nil, inputIndex: Int32? = nil,
                              outputIndex: Int32? = nil, mark: UInt32? = nil, fibMatch: Bool = false) -> NetlinkMessage {
        var w = WireWriter()
        let family: UInt8 = destination.isIPv4 ? 2 : 10
        w.u8(family)
        w.u8(destination.isIPv4 ? 32 : 128)  // dst_len
        w.u8(source == nil ? 0 : (destination.isIPv4 ? 32 : 128))
        w.u8(0); w.u8(0); w.u8(0); w.u8(0); w.u8(0)
        // RTM_F_FIB_MATCH returns the matching FIB entry. RTM_F_LOOKUP_TABLE (reports the table)
        // only for IPv4: under strict checking IPv6 refuses it with EINVAL (iproute2 guards it
        // the same way, ip/iproute.c).
        w.u32((destination.isIPv4 ? 0x1000 : 0) | (fibMatch ? 0x2000 : 0))
        w.attribute(1, destination.bytes)
        if let source { w.attribute(2, source.bytes) }
        if let inputIndex { w.attribute(3, u32: UInt32(bitPattern: inputIndex)) }
        if let outputIndex { w.attribute(4, u32: UInt32(bitPattern: outputIndex)) }
        if let mark { w.attribute(16, u32: mark) }
        return NetlinkMessage(type: .getRoute, flags: [.request], payload: w.bytes)
    }

    /// RTM_GETNSID for the namespace open at `fd` (NETNSA_FD): which id this namespace gives it.
    public static func namespaceID(fd: Int32) -> NetlinkMessage {
        var w = WireWriter()
        w.u8(0); w.pad()
        w.attribute(3, u32: UInt32(bitPattern: fd))
        return NetlinkMessage(type: .getNSID, flags: [.request], payload: w.bytes)
    }
}

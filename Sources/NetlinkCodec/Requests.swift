import NetAddress

/// Builds the requests netdoctor sends, from typed headers and named attributes; the socket
/// layer fills in sequence and port.
public enum RouteRequest {
    /// A dump of links (RTM_GETLINK), addresses, routes or neighbours of one family.
    public static func dump(_ type: MessageType, family: AddressFamily = .unspecified) -> NetlinkMessage {
        var w = WireWriter()
        switch type {
        case .getLink:
            LinkHeader(family: family.rawValue).emit(into: &w)
            w.attribute(IFLA.extMask, u32: RTEXTFilter.vf)
        case .getAddress: AddressHeader(family: family.rawValue).emit(into: &w)
        case .getRoute: RouteHeader(family: family.rawValue).emit(into: &w)
        case .getNeighbor: NeighborHeader(family: family.rawValue).emit(into: &w)
        default: GenericHeader(family: family.rawValue).emit(into: &w)
        }
        return NetlinkMessage(type: type, flags: [.request, .dump], payload: w.bytes)
    }

    /// A route lookup as `ip route get DST [from SRC] [iif DEV] [oif DEV] [mark N] [fibmatch]`
    /// asks it: RTM_GETROUTE without NLM_F_DUMP, with the flags iproute2 sets per family.
    public static func lookup(
        destination: IPAddress, source: IPAddress? = nil, inputIndex: Int32? = nil,
        outputIndex: Int32? = nil, mark: UInt32? = nil, fibMatch: Bool = false
    ) -> NetlinkMessage {
        let family = destination.isIPv4 ? AddressFamily.inet : .inet6
        let hostLength: UInt8 = destination.isIPv4 ? 32 : 128
        var header = RouteHeader(family: family.rawValue)
        header.destinationLength = hostLength
        header.sourceLength = source == nil ? 0 : hostLength
        header.flags = lookupFlags(family: family, fibMatch: fibMatch)
        var w = WireWriter()
        header.emit(into: &w)
        w.attribute(RTA.destination, destination.bytes)
        if let source { w.attribute(RTA.source, source.bytes) }
        if let inputIndex { w.attribute(RTA.inputInterface, u32: UInt32(bitPattern: inputIndex)) }
        if let outputIndex { w.attribute(RTA.outputInterface, u32: UInt32(bitPattern: outputIndex)) }
        if let mark { w.attribute(RTA.mark, u32: mark) }
        return NetlinkMessage(type: .getRoute, flags: [.request], payload: w.bytes)
    }

    /// RTM_F_FIB_MATCH returns the matching FIB entry. RTM_F_LOOKUP_TABLE (the table in the answer)
    /// only for IPv4: under strict checking IPv6 refuses it with EINVAL, and iproute2 guards it
    /// the same way (ip/iproute.c: "Only IPv4 supports the RTM_F_LOOKUP_TABLE flag").
    public static func lookupFlags(family: AddressFamily, fibMatch: Bool) -> UInt32 {
        (family == .inet ? RTMFlags.lookupTable : 0) | (fibMatch ? RTMFlags.fibMatch : 0)
    }

    /// RTM_GETNETCONF for one interface's or a whole family's settings (NETCONFA_IFINDEX_ALL,
    /// _DEFAULT), as `ip netconf show` asks: struct netconfmsg (the family, padded to 4) and
    /// NETCONFA_IFINDEX, the only attribute strict checking accepts.
    public static func netconf(family: AddressFamily, interfaceIndex: Int32) -> NetlinkMessage {
        var w = WireWriter()
        GenericHeader(family: family.rawValue).emit(into: &w)
        w.attribute(NETCONFA.interfaceIndex, u32: UInt32(bitPattern: interfaceIndex))
        return NetlinkMessage(type: .getNetconf, flags: [.request], payload: w.bytes)
    }

    /// RTM_GETNSID for the namespace open at `fd` (NETNSA_FD): which id this namespace gives it.
    public static func namespaceID(fd: Int32) -> NetlinkMessage {
        var w = WireWriter()
        GenericHeader().emit(into: &w)
        w.attribute(NETNSA.fd, u32: UInt32(bitPattern: fd))
        return NetlinkMessage(type: .getNSID, flags: [.request], payload: w.bytes)
    }
}

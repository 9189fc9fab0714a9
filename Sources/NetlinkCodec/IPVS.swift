import NetAddress

/// The IPVS generic-netlink family (what `ipvsadm -Ln` reads): virtual services and their real
/// servers. Its family id is asked of the generic-netlink controller (CTRL_CMD_GETFAMILY, name
/// "IPVS"); then IPVS_CMD_GET_SERVICE and, per service, IPVS_CMD_GET_DEST are dumped. Layouts
/// from include/uapi/linux/ip_vs.h. Bytes in, values out: this VM's kernel has no IPVS, so the
/// tests build messages the way the kernel lays them out.
public enum IPVS {
    /// The generic-netlink controller's fixed id (GENL_ID_CTRL) and its commands and attributes.
    public static let controller = MessageType(rawValue: 0x10)
    static let getFamilyCommand: UInt8 = 3  // CTRL_CMD_GETFAMILY
    static let familyIDAttribute: UInt16 = 1  // CTRL_ATTR_FAMILY_ID (u16)
    static let familyNameAttribute: UInt16 = 2  // CTRL_ATTR_FAMILY_NAME (string)

    static let getServiceCommand: UInt8 = 4  // IPVS_CMD_GET_SERVICE
    static let getDestinationCommand: UInt8 = 8  // IPVS_CMD_GET_DEST
    static let serviceAttribute: UInt16 = 1  // IPVS_CMD_ATTR_SERVICE (nested)
    static let destinationAttribute: UInt16 = 2  // IPVS_CMD_ATTR_DEST (nested)

    /// enum ipvs_service_attr.
    enum ServiceAttribute: UInt16 {
        case family = 1, proto = 2, address = 3, port = 4, firewallMark = 5, scheduler = 6, flags = 7, timeout = 8, netmask = 9
    }
    /// enum ipvs_dest_attr.
    enum DestinationAttribute: UInt16 {
        case address = 1, port = 2, forwarding = 3, weight = 4, upperThreshold = 5, lowerThreshold = 6, activeConnections = 7,
            inactiveConnections = 8, persistentConnections = 9, stats = 10, addressFamily = 11
    }

    /// A virtual service: protocol, address and port (or a firewall mark), scheduler.
    public struct Service: Sendable, Hashable {
        public var family: UInt16
        /// IPPROTO_*.
        public var proto: UInt16
        public var address: IPAddress?
        public var port: UInt16
        public var firewallMark: UInt32?
        public var scheduler: String?

        public init(family: UInt16, proto: UInt16, address: IPAddress?, port: UInt16, firewallMark: UInt32? = nil, scheduler: String? = nil)
        {
            self.family = family
            self.proto = proto
            self.address = address
            self.port = port
            self.firewallMark = firewallMark
            self.scheduler = scheduler
        }
    }

    /// A real server of a virtual service.
    public struct Destination: Sendable, Hashable {
        public var address: IPAddress
        public var port: UInt16
        public var weight: UInt32
        /// IP_VS_CONN_F_MASQ (0), LOCALNODE (1), TUNNEL (2), DROUTE (3), BYPASS (4).
        public var forwarding: UInt32
        public var activeConnections: UInt32
        public var inactiveConnections: UInt32
    }

    /// A generic-netlink message: struct genlmsghdr (cmd, version, reserved u16), then attributes.
    static func message(
        type: MessageType, command: UInt8, version: UInt8, dump: Bool, attributes: (inout WireWriter) -> Void
    ) -> NetlinkMessage {
        var w = WireWriter()
        w.u8(command); w.u8(version); w.u16(0)
        attributes(&w)
        return NetlinkMessage(type: type, flags: dump ? [.request, .dump] : [.request], payload: w.bytes)
    }

    /// CTRL_CMD_GETFAMILY for "IPVS".
    public static var familyRequest: NetlinkMessage {
        message(type: controller, command: getFamilyCommand, version: 1, dump: false) {
            $0.attribute(familyNameAttribute, Array("IPVS".utf8) + [0])
        }
    }

    /// The family id in the controller's answer; nil when it is not one.
    public static func familyID(_ message: NetlinkMessage) throws(NetlinkDecodeError) -> MessageType? {
        guard message.type == controller, message.payload.count >= 4 else { return nil }
        return try Attribute.parseAll(message.payload.dropFirst(4)).first { $0.type == familyIDAttribute }?.u16.map {
            MessageType(rawValue: $0)
        }
    }

    /// A dump of every virtual service.
    public static func servicesRequest(family: MessageType) -> NetlinkMessage {
        message(type: family, command: getServiceCommand, version: 1, dump: true) { _ in }
    }

    /// A dump of one virtual service's real servers.
    public static func destinationsRequest(family: MessageType, of service: Service) -> NetlinkMessage {
        message(type: family, command: getDestinationCommand, version: 1, dump: true) { w in
            var nested = WireWriter()
            nested.attribute(ServiceAttribute.family.rawValue, [UInt8(service.family & 0xFF), UInt8(service.family >> 8)])
            if let mark = service.firewallMark {
                nested.attribute(ServiceAttribute.firewallMark.rawValue, u32: mark)
            } else {
                nested.attribute(ServiceAttribute.proto.rawValue, [UInt8(service.proto & 0xFF), UInt8(service.proto >> 8)])
                nested.attribute(ServiceAttribute.address.rawValue, paddedAddress(service.address))
                nested.attribute(ServiceAttribute.port.rawValue, [UInt8(service.port >> 8), UInt8(service.port & 0xFF)])
            }
            w.attribute(serviceAttribute | 0x8000, nested.bytes)
        }
    }

    /// union nf_inet_addr: 16 bytes, an IPv4 address in the first 4.
    static func paddedAddress(_ address: IPAddress?) -> [UInt8] {
        var bytes = address?.bytes ?? []
        while bytes.count < 16 { bytes.append(0) }
        return bytes
    }

    static func address(_ payload: ArraySlice<UInt8>, family: UInt16) -> IPAddress? {
        guard payload.count >= 16 || (family == 2 && payload.count >= 4) else { return nil }
        return IPAddress(wire: family == 2 ? payload.prefix(4) : payload.prefix(16))
    }

    /// An IPVS_CMD_NEW_SERVICE answer to the services dump; nil for other messages.
    public static func service(_ message: NetlinkMessage, family: MessageType) throws(NetlinkDecodeError) -> Service? {
        guard message.type == family, message.payload.count >= 4 else { return nil }
        guard let nested = try Attribute.parseAll(message.payload.dropFirst(4)).first(where: { $0.type == serviceAttribute }) else {
            return nil
        }
        let parts = try nested.nested()
        let value = { (attribute: ServiceAttribute) in parts.first { $0.type == attribute.rawValue } }
        guard let addressFamily = value(.family)?.u16 else { return nil }
        return Service(
            family: addressFamily, proto: value(.proto)?.u16 ?? 0,
            address: value(.address).flatMap { address($0.payload, family: addressFamily) },
            port: value(.port)?.u16BigEndian ?? 0, firewallMark: value(.firewallMark)?.u32,
            scheduler: value(.scheduler)?.string)
    }

    /// An IPVS_CMD_NEW_DEST answer to a destinations dump; nil for other messages.
    public static func destination(
        _ message: NetlinkMessage, family: MessageType, serviceFamily: UInt16
    ) throws(NetlinkDecodeError) -> Destination? {
        guard message.type == family, message.payload.count >= 4 else { return nil }
        guard let nested = try Attribute.parseAll(message.payload.dropFirst(4)).first(where: { $0.type == destinationAttribute }) else {
            return nil
        }
        let parts = try nested.nested()
        let value = { (attribute: DestinationAttribute) in parts.first { $0.type == attribute.rawValue } }
        let addressFamily = value(.addressFamily)?.u16 ?? serviceFamily
        guard let address = value(.address).flatMap({ address($0.payload, family: addressFamily) }) else { return nil }
        return Destination(
            address: address, port: value(.port)?.u16BigEndian ?? 0, weight: value(.weight)?.u32 ?? 0,
            forwarding: value(.forwarding)?.u32 ?? 0, activeConnections: value(.activeConnections)?.u32 ?? 0,
            inactiveConnections: value(.inactiveConnections)?.u32 ?? 0)
    }
}

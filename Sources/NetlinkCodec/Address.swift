import NetAddress

/// An address on an interface, as RTM_NEWADDR describes it (struct ifaddrmsg + IFA_*).
public struct InterfaceAddress: Sendable, Equatable {
    public var family: AddressFamily
    public var prefixLength: UInt8
    public var scope: RouteScope
    public var interfaceIndex: Int32
    /// IFA_LOCAL where present (the address itself on point-to-point links), else IFA_ADDRESS.
    public var address: IPAddress?
    /// IFA_ADDRESS: the peer on point-to-point links.
    public var peer: IPAddress?
    public var label: String?
    /// IFA_F_*: IFA_FLAGS (32 bits) where the kernel sends it, else ifaddrmsg's 8.
    public var flags: Flags
    /// The attributes exactly as received (unknown ones included), decoded on demand.
    public var rawAttributes: ArraySlice<UInt8>
    public var attributes: [Attribute] { (try? Attribute.parseAll(rawAttributes)) ?? [] }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        let header = try AddressHeader(parsing: message.payload)
        family = AddressFamily(rawValue: header.family)
        prefixLength = header.prefixLength
        scope = RouteScope(rawValue: header.scope)
        interfaceIndex = header.index
        rawAttributes = message.payload.dropFirst(AddressHeader.size)
        let attributes = try Attribute.parseAll(rawAttributes)
        let ifaAddress = attributes.attribute(IFA.address).flatMap { IPAddress(wire: $0.payload) }
        let ifaLocal = attributes.attribute(IFA.local).flatMap { IPAddress(wire: $0.payload) }
        address = ifaLocal ?? ifaAddress
        peer = ifaLocal != nil && ifaAddress != ifaLocal ? ifaAddress : nil
        label = attributes.attribute(IFA.label)?.string
        let wide = attributes.attribute(IFA.flags).flatMap { $0.payload.count >= 4 ? $0.payload : nil }
        flags = Flags(rawValue: wide.map { WireReader($0).u32(0) } ?? UInt32(header.flags))
    }

    /// IFA_F_* (linux/if_addr.h): what duplicate address detection and lifetimes left.
    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let secondary = Flags(rawValue: 0x01)
        public static let noDAD = Flags(rawValue: 0x02)
        public static let optimistic = Flags(rawValue: 0x04)
        public static let dadFailed = Flags(rawValue: 0x08)
        public static let deprecated = Flags(rawValue: 0x20)
        public static let tentative = Flags(rawValue: 0x40)
        public static let permanent = Flags(rawValue: 0x80)

        /// As `ip addr` prints them.
        public var names: [String] {
            [
                (Flags.secondary, "secondary"), (.noDAD, "nodad"), (.optimistic, "optimistic"), (.dadFailed, "dadfailed"),
                (.deprecated, "deprecated"), (.tentative, "tentative"), (.permanent, "permanent"),
            ].filter { contains($0.0) }.map(\.1)
        }
    }

    /// "10.244.1.2/24", as ip prints it.
    public var cidr: String? { address.map { "\($0)/\(prefixLength)" } }
}

import NetAddress

/// An address on an interface, as RTM_NEWADDR describes it (struct ifaddrmsg + IFA_*).
public struct InterfaceAddress: Sendable, Equatable {
    public var family: UInt8
    public var prefixLength: UInt8
    public var scope: UInt8
    public var interfaceIndex: Int32
    /// IFA_LOCAL where present (the address itself on point-to-point links), else IFA_ADDRESS.
    public var address: IPAddress?
    /// IFA_ADDRESS: the peer on point-to-point links.
    public var peer: IPAddress?
    public var label: String?
    /// The attributes exactly as received (unknown ones included), decoded on demand.
    public var rawAttributes: ArraySlice<UInt8>
    public var attributes: [Attribute] { (try? Attribute.parseAll(rawAttributes)) ?? [] }

    public init(_ message: NetlinkMessage) throws(NetlinkDecodeError) {
        let header = try AddressHeader(parsing: message.payload)
        family = header.family
        prefixLength = header.prefixLength
        scope = header.scope
        interfaceIndex = header.index
        rawAttributes = message.payload.dropFirst(AddressHeader.size)
        let attributes = try Attribute.parseAll(rawAttributes)
        let ifaAddress = attributes.attribute(IFA.address).flatMap { IPAddress(wire: $0.payload) }
        let ifaLocal = attributes.attribute(IFA.local).flatMap { IPAddress(wire: $0.payload) }
        address = ifaLocal ?? ifaAddress
        peer = ifaLocal != nil && ifaAddress != ifaLocal ? ifaAddress : nil
        label = attributes.attribute(IFA.label)?.string
    }

    /// "10.244.1.2/24", as ip prints it.
    public var cidr: String? { address.map { "\($0)/\(prefixLength)" } }
}

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
        guard message.payload.count >= 8 else { throw NetlinkDecodeError("ifaddrmsg shorter than 8 bytes", offset: 0) }
        let r = WireReader(message.payload)
        family = r.u8(0)
        prefixLength = r.u8(1)
        scope = r.u8(3)
        interfaceIndex = r.i32(4)
        rawAttributes = message.payload.dropFirst(8)
        let attributes = try Attribute.parseAll(rawAttributes)
        let ifaAddress = attributes.first(1).flatMap { IPAddress(wire: $0.payload) }
        let ifaLocal = attributes.first(2).flatMap { IPAddress(wire: $0.payload) }
        address = ifaLocal ?? ifaAddress
        peer = ifaLocal != nil && ifaAddress != ifaLocal ? ifaAddress : nil
        label = attributes.first(3)?.string
    }

    /// "10.244.1.2/24", as ip prints it.
    public var cidr: String? { address.map { "\($0)/\(prefixLength)" } }
}

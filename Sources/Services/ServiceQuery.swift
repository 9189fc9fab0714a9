import NetAddress

/// A Service as a user names it: `ns/name[:port]`, `name[:port]` (any namespace), a ClusterIP
/// (or external IP) `[:port]`, or `NODE-IP:NODEPORT`. The port after a name is the port's name
/// or its number.
public struct ServiceQuery: Sendable, Equatable, CustomStringConvertible {
    public enum Target: Sendable, Equatable {
        case name(namespace: String?, name: String)
        case address(IPAddress)
    }

    public var target: Target
    /// A port name or number, as given; nil: every port.
    public var port: String?
    public let text: String

    public var description: String { text }

    public static func parse(_ text: String) -> ServiceQuery? {
        guard !text.isEmpty, text.utf8.count <= 512, !text.contains(" ") else { return nil }
        // "[fd00::1]:80", "10.96.0.1:80", "10.96.0.1", "fd00::1"
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"),
            let address = IPAddress.parse(String(text[text.index(after: text.startIndex)..<close]))
        {
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && UInt16(rest.dropFirst()) != nil) else { return nil }
            return ServiceQuery(target: .address(address), port: rest.isEmpty ? nil : String(rest.dropFirst()), text: text)
        }
        if let address = IPAddress.parse(text) { return ServiceQuery(target: .address(address), port: nil, text: text) }
        if let colon = text.lastIndex(of: ":"), let address = IPAddress.parse(String(text[..<colon])), address.isIPv4 {
            let port = text[text.index(after: colon)...]
            guard UInt16(port) != nil else { return nil }
            return ServiceQuery(target: .address(address), port: String(port), text: text)
        }
        // A name: Kubernetes names are DNS labels (lowercase letters, digits, '-'); port names too.
        let colon = text.firstIndex(of: ":")
        let service = colon.map { text[..<$0] } ?? text[...]
        let port = colon.map { String(text[text.index(after: $0)...]) }
        if let port, port.isEmpty || !port.allSatisfy(Self.isNameCharacter) { return nil }
        let parts = service.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isNameCharacter) }) else { return nil }
        return ServiceQuery(
            target: .name(namespace: parts.count == 2 ? String(parts[0]) : nil, name: String(parts.last!)), port: port, text: text)
    }

    static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLowercase || character.isNumber || character == "-" || character == ".")
    }

    /// The table's entries this query names (for an address: those with a frontend on it, or a
    /// node port of that number when the address is none of the table's).
    public func matches(in table: ServiceTable) -> [ServiceEntry] {
        switch target {
        case .name(let namespace, let name):
            return table.entries.filter { entry in
                guard let entryName = entry.name, entryName.name == name, namespace.map({ $0 == entryName.namespace }) ?? true else {
                    return false
                }
                return port.map {
                    $0 == entryName.port || entry.frontends.contains(where: { String($0.port) == port && $0.address != nil })
                } ?? true
            }
        case .address(let address):
            let wanted = port.flatMap { UInt16($0) }
            let byAddress = table.entries.filter { entry in
                entry.frontends.contains { frontend in frontend.address == address && (wanted.map { frontend.port == $0 } ?? true) }
            }
            if !byAddress.isEmpty || wanted == nil { return byAddress }
            // NODE-IP:NODEPORT: the node's own address is in no rule; the port is.
            return table.entries.filter { $0.frontends.contains(.nodePort(wanted!)) }
        }
    }
}

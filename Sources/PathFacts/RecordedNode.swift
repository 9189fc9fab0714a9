import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import NodeFiles
import Pods

/// A node replayed from a recording `FactRecorder` wrote: the same bytes the kernel sent, parsed
/// by the same code, so that the gathering and the checks run without root. A question the
/// recording has no answer to fails as a collection error, never as a fact.
public final class RecordedNode: NodeAccess, @unchecked Sendable {
    public let node: KnownNamespace
    private let directory: String
    private var namespaces: [String: KnownNamespace] = [:]
    private var podNamespaces: [String: String] = [:]
    private var claims: [IPAddress: [LinkAddress]] = [:]
    private var opened: [String: RecordedNamespace] = [:]

    public init(directory: String) throws {
        self.directory = directory
        for fields in try Self.lines(directory + "/namespaces.txt") where fields.count == 3 {
            guard let device = UInt64(fields[1]), let inode = UInt64(fields[2]) else { continue }
            // The recorder names the node's own namespace by the reserved name, and nothing else so.
            namespaces[fields[0]] = KnownNamespace(
                name: fields[0], path: "", identity: .init(device: device, inode: inode),
                isNode: fields[0] == KnownNamespace.nodeName)
        }
        guard let node = namespaces[KnownNamespace.nodeName] else { throw RecordingError("\(directory): no node namespace recorded") }
        self.node = node
        for fields in (try? Self.lines(directory + "/pods.txt")) ?? [] where fields.count == 2 { podNamespaces[fields[0]] = fields[1] }
        for fields in (try? Self.lines(directory + "/claims.txt")) ?? [] where fields.count == 2 {
            guard let address = IPAddress.parse(fields[0]) else { continue }
            claims[address] = fields[1].split(separator: ",").compactMap { LinkAddress.parse(String($0)) }
        }
    }

    public func open(_ known: KnownNamespace) throws -> any NamespaceAccess {
        if let open = opened[known.name] { return open }
        guard namespaces[known.name] != nil else { throw RecordingError("\(known.name) was not opened when this was recorded") }
        let open = RecordedNamespace(known: known, folder: directory + "/" + FactRecorder.folder(known), namespaces: namespaces)
        opened[known.name] = open
        return open
    }

    public func namespace(named name: String) -> KnownNamespace? { namespaces[name] }

    public func namespace(of pod: Pod) throws -> KnownNamespace {
        guard let name = podNamespaces[pod.fullName], let known = namespaces[name] else {
            throw PodLookupError(kind: .namespaceGone, message: "\(pod.fullName): no namespace recorded")
        }
        return known
    }

    public func addressClaims(of address: IPAddress, on link: Link, in namespace: any NamespaceAccess) -> [LinkAddress]? { claims[address] }

    /// A file a caller recorded beside the kernel's answers (LiveNode.recordAlongside).
    public func recorded(_ file: String) -> [UInt8]? { try? NodeRoot("/").read(directory + "/" + file, limit: 16 << 20) }

    static func lines(_ path: String) throws -> [[String]] {
        let text = try NodeRoot("/").readText(path)
        return text.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }
}

public struct RecordingError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// One namespace of a recording.
final class RecordedNamespace: NamespaceAccess, @unchecked Sendable {
    let known: KnownNamespace
    private let folder: String
    private let namespaces: [String: KnownNamespace]
    private var answers: [String: (code: Int32, text: String)] = [:]
    private var peers: [Int32: String] = [:]

    init(known: KnownNamespace, folder: String, namespaces: [String: KnownNamespace]) {
        self.known = known
        self.folder = folder
        self.namespaces = namespaces
        for fields in (try? RecordedNode.lines(folder + "/lookups.txt")) ?? [] where fields.count == 3 {
            answers[fields[0]] = (Int32(fields[1]) ?? -1, fields[2])
        }
        for fields in (try? RecordedNode.lines(folder + "/peers.txt")) ?? [] where fields.count == 2 {
            if let nsid = Int32(fields[0]) { peers[nsid] = fields[1] }
        }
    }

    var handle: NamespaceHandle? { nil }

    func messages(_ name: String) throws -> [NetlinkMessage] {
        try NetlinkMessage.parseAll(try NodeRoot("/").read(folder + "/" + name + ".bin", limit: 64 << 20))
    }

    func state() throws -> NamespaceState {
        let dumps = NamespaceDumps(
            links: try messages("links"), addresses: try messages("addresses"), routes: try messages("routes"),
            neighbors: try messages("neighbors"), forwardingDatabase: try messages("fdb"))
        var sysctls: [String: String] = [:]
        for line in try NodeRoot("/").readText(folder + "/sysctls.txt").split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            sysctls[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return try dumps.state(sysctls: sysctls)
    }

    func freshNeighbors() throws -> [Neighbor] {
        let messages = try (try? messages("neighbors-after")) ?? messages("neighbors")
        return try messages.compactMap { $0.type == .newNeighbor ? try Neighbor($0) : nil }.filter { $0.family != .bridge }
    }

    func lookup(_ query: RouteQuery) -> RouteAnswer {
        guard let (code, text) = answers[query.description] else { return .failed(why: "`\(query)` was not recorded") }
        let reply: Result<NetlinkMessage, NetlinkError>
        switch code {
        case 0:
            guard let bytes = Self.bytes(hex: text), let message = try? NetlinkMessage.parseAll(bytes).first else {
                return .failed(why: "the recorded reply to `\(query)` does not parse")
            }
            reply = .success(message)
        case let code where code > 0: reply = .failure(.kernel(errno: code, message: text.isEmpty ? nil : text))
        default: reply = .failure(.protocolViolation(text))
        }
        return RouteAnswer.judging(reply, for: query)
    }

    func peer(nsid: Int32) -> KnownNamespace? { peers[nsid].flatMap { namespaces[$0] } }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}

import NetAddress

/// The DNS wire format (RFC 1035 §4, AAAA from RFC 3596) as far as a stub resolver needs it: a
/// query out, a response back. Pure: bytes in, values out; every length and pointer is checked,
/// because the answer comes from whatever listens on the nameserver's address.
public enum DNSRecordType: Sendable, Hashable, CustomStringConvertible {
    case a, aaaa, cname, other(UInt16)

    public init(code: UInt16) {
        switch code {
        case 1: self = .a
        case 28: self = .aaaa
        case 5: self = .cname
        default: self = .other(code)
        }
    }

    public var code: UInt16 {
        switch self {
        case .a: 1
        case .aaaa: 28
        case .cname: 5
        case .other(let code): code
        }
    }

    public var description: String {
        switch self {
        case .a: "A"
        case .aaaa: "AAAA"
        case .cname: "CNAME"
        case .other(let code): "TYPE\(code)"
        }
    }
}

/// RCODE (RFC 1035 §4.1.1).
public enum DNSResponseCode: Sendable, Hashable, CustomStringConvertible {
    case noError, formatError, serverFailure, nameError, notImplemented, refused, other(UInt8)

    init(code: UInt8) {
        switch code {
        case 0: self = .noError
        case 1: self = .formatError
        case 2: self = .serverFailure
        case 3: self = .nameError
        case 4: self = .notImplemented
        case 5: self = .refused
        default: self = .other(code)
        }
    }

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        case .other(let code): "RCODE\(code)"
        }
    }
}

/// Why bytes are not a DNS response.
public struct DNSDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "malformed DNS message: \(message)" }
}

/// One question: a name (labels, no trailing dot) and a type, class IN.
public struct DNSQuery: Sendable, Equatable {
    public var id: UInt16
    public var name: DNSName
    public var type: DNSRecordType

    public init(id: UInt16, name: DNSName, type: DNSRecordType) {
        self.id = id
        self.name = name
        self.type = type
    }

    /// The query as a stub resolver sends it: recursion desired, one question. Over TCP the
    /// message is preceded by its length (RFC 1035 §4.2.2).
    public func encoded(tcp: Bool = false) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.append(contentsOf: [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00])  // RD
        bytes.append(contentsOf: [0, 1, 0, 0, 0, 0, 0, 0])  // QDCOUNT 1
        for label in name.labels {
            bytes.append(UInt8(label.count))
            bytes.append(contentsOf: label)
        }
        bytes.append(0)
        bytes.append(contentsOf: [UInt8(type.code >> 8), UInt8(type.code & 0xFF), 0, 1])  // class IN
        guard tcp else { return bytes }
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }
}

/// A name checked as DNS allows it: labels of 1 to 63 bytes, 255 bytes on the wire at most,
/// letters, digits, `-` and `_` (service labels); a trailing dot makes it absolute.
public struct DNSName: Sendable, Hashable, CustomStringConvertible {
    public var labels: [[UInt8]]
    /// Written with a trailing dot: the search list is not applied.
    public var absolute: Bool

    public init?(_ text: String) {
        var text = Substring(text)
        absolute = text.hasSuffix(".")
        if absolute { text = text.dropLast() }
        guard !text.isEmpty else { return nil }
        var labels: [[UInt8]] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8)
            guard (1...63).contains(bytes.count), bytes.allSatisfy(Self.allowed) else { return nil }
            labels.append(bytes.map { $0 | ($0 >= 0x41 && $0 <= 0x5A ? 0x20 : 0) })  // lowercased
        }
        guard labels.reduce(1, { $0 + $1.count + 1 }) <= 255 else { return nil }
        self.labels = labels
    }

    init(labels: [[UInt8]], absolute: Bool) {
        self.labels = labels
        self.absolute = absolute
    }

    static func allowed(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x5F
    }

    /// The dots in the name as written (what ndots counts).
    public var dots: Int { labels.count - 1 }

    /// This name with `domain` after it (a search-list candidate), nil when too long.
    public func appending(_ domain: DNSName) -> DNSName? {
        let joined = DNSName(labels: labels + domain.labels, absolute: true)
        return joined.labels.reduce(1, { $0 + $1.count + 1 }) <= 255 ? joined : nil
    }

    public var description: String { labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".") }
}

/// One resource record of an answer.
public struct DNSRecord: Sendable, Equatable {
    public enum Data: Sendable, Equatable {
        case address(IPAddress)
        case name(String)
        case other([UInt8])
    }

    public var name: String
    public var type: DNSRecordType
    public var ttl: UInt32
    public var data: Data

    public init(name: String, type: DNSRecordType, ttl: UInt32, data: Data) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.data = data
    }
}

/// A response: its header's flags, its question and its answers.
public struct DNSResponse: Sendable, Equatable {
    public var id: UInt16
    public var code: DNSResponseCode
    public var truncated: Bool
    public var authoritative: Bool
    public var recursionAvailable: Bool
    public var question: (name: String, type: DNSRecordType)?
    public var answers: [DNSRecord]

    public static func == (a: DNSResponse, b: DNSResponse) -> Bool {
        a.id == b.id && a.code == b.code && a.truncated == b.truncated && a.authoritative == b.authoritative
            && a.recursionAvailable == b.recursionAvailable && a.question?.name == b.question?.name
            && a.question?.type == b.question?.type && a.answers == b.answers
    }

    public init(
        id: UInt16, code: DNSResponseCode, truncated: Bool, authoritative: Bool, recursionAvailable: Bool,
        question: (name: String, type: DNSRecordType)?, answers: [DNSRecord]
    ) {
        self.id = id
        self.code = code
        self.truncated = truncated
        self.authoritative = authoritative
        self.recursionAvailable = recursionAvailable
        self.question = question
        self.answers = answers
    }

    /// The addresses the answer gives (after any CNAME chain).
    public var addresses: [IPAddress] {
        answers.compactMap { if case .address(let address) = $0.data { address } else { nil } }
    }

    /// Parses a response (UDP payload, or a TCP message without its length prefix).
    public init(parsing bytes: [UInt8]) throws(DNSDecodeError) {
        var reader = DNSReader(bytes: bytes)
        id = try reader.u16()
        let flags = try reader.u16()
        guard flags & 0x8000 != 0 else { throw DNSDecodeError("a query, not a response") }
        truncated = flags & 0x0200 != 0
        authoritative = flags & 0x0400 != 0
        recursionAvailable = flags & 0x0080 != 0
        code = DNSResponseCode(code: UInt8(flags & 0x000F))
        let questions = try reader.u16(), answerCount = try reader.u16()
        _ = try reader.u16()
        _ = try reader.u16()
        question = nil
        for index in 0..<Int(questions) {
            let name = try reader.name()
            let type = DNSRecordType(code: try reader.u16())
            _ = try reader.u16()
            if index == 0 { question = (name, type) }
        }
        answers = []
        // A truncated UDP answer may stop anywhere in its records: keep what is whole.
        for _ in 0..<Int(answerCount) {
            do { answers.append(try reader.record()) } catch { if truncated { break } else { throw error } }
        }
    }
}

/// Reads a message with every bound checked.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    mutating func u8() throws(DNSDecodeError) -> UInt8 {
        guard offset < bytes.count else { throw DNSDecodeError("ends at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSDecodeError) -> UInt16 { UInt16(try u8()) << 8 | UInt16(try u8()) }
    mutating func u32() throws(DNSDecodeError) -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }

    mutating func take(_ count: Int) throws(DNSDecodeError) -> [UInt8] {
        guard count >= 0, offset + count <= bytes.count else { throw DNSDecodeError("a field of \(count) bytes runs past the end") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// A name at the current offset, following compression pointers (RFC 1035 §4.1.4); each
    /// pointer must lead backwards, so a loop cannot be built.
    mutating func name() throws(DNSDecodeError) -> String {
        let (text, end) = try Self.name(in: bytes, at: offset)
        offset = end
        return text
    }

    static func name(in bytes: [UInt8], at start: Int) throws(DNSDecodeError) -> (String, Int) {
        var labels: [String] = []
        var at = start
        var end: Int? = nil
        var length = 1
        while true {
            guard at < bytes.count else { throw DNSDecodeError("a name runs past the end") }
            let count = Int(bytes[at])
            if count == 0 {
                return (labels.joined(separator: "."), end ?? at + 1)
            }
            if count & 0xC0 == 0xC0 {
                guard at + 1 < bytes.count else { throw DNSDecodeError("a compression pointer cut short") }
                let target = (count & 0x3F) << 8 | Int(bytes[at + 1])
                guard target < at else { throw DNSDecodeError("a compression pointer that does not lead backwards") }
                if end == nil { end = at + 2 }
                at = target
                continue
            }
            guard count <= 63 else { throw DNSDecodeError("a label of reserved type \(count >> 6)") }
            guard at + 1 + count <= bytes.count else { throw DNSDecodeError("a label runs past the end") }
            length += count + 1
            guard length <= 255 else { throw DNSDecodeError("a name longer than 255 bytes") }
            labels.append(String(decoding: bytes[(at + 1)..<(at + 1 + count)], as: UTF8.self))
            at += 1 + count
        }
    }

    mutating func record() throws(DNSDecodeError) -> DNSRecord {
        let name = try name()
        let type = DNSRecordType(code: try u16())
        _ = try u16()  // class
        let ttl = try u32()
        let length = Int(try u16())
        let dataStart = offset
        let raw = try take(length)
        let data: DNSRecord.Data
        switch type {
        case .a where length == 4, .aaaa where length == 16:
            data = .address(IPAddress(bytes: raw))
        case .a, .aaaa:
            throw DNSDecodeError("an \(type) record of \(length) bytes")
        case .cname:
            let (target, _) = try Self.name(in: bytes, at: dataStart)
            data = .name(target)
        case .other:
            data = .other(raw)
        }
        return DNSRecord(name: name, type: type, ttl: ttl, data: data)
    }
}

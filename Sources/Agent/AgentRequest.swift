import ConfigFormats
import Diagnosis

/// A request as the agent's routes see it: already read whole, within the size limit.
struct AgentRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var body: [UInt8]

    init(method: String, uri: String, body: [UInt8]) {
        self.method = method
        self.body = body
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "")
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[Self.unescape(kv[0])] = kv.count == 2 ? Self.unescape(kv[1]) : ""
            }
        }
        self.query = query
    }

    /// The body as JSON; a malformed one is the caller's error (400).
    func json() throws(AgentFailure) -> ConfigValue {
        guard !body.isEmpty else { throw AgentFailure(400, "the request needs a JSON body") }
        do {
            return try JSONParser.parse(String(decoding: body, as: UTF8.self))
        } catch {
            throw AgentFailure(400, "malformed JSON body: \(error)")
        }
    }

    /// A required query parameter.
    func parameter(_ name: String) throws(AgentFailure) -> String {
        guard let value = query[name], !value.isEmpty else { throw AgentFailure(400, "missing query parameter \(name)") }
        return value
    }

    /// An optional query parameter that must parse when given (an address filter that does not
    /// parse must not quietly filter nothing).
    func parameter<T>(_ name: String, as parse: (String) -> T?, what: String) throws(AgentFailure) -> T? {
        guard let text = query[name] else { return nil }
        guard let value = parse(text) else { throw AgentFailure(400, "\(name) is not \(what)") }
        return value
    }

    /// %XX and + as in form encoding; a bad escape is kept as written.
    static func unescape(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension ConfigValue {
    /// An optional whole number within `range`: absent is nil; anything else (a fraction, a
    /// string, 1e20) is the caller's error, never quietly the default.
    func wholeNumber(_ key: String, in range: ClosedRange<Int>, limit: String? = nil) throws(AgentFailure) -> Int? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let number = value.int, range.contains(number) else {
            throw AgentFailure(
                400, "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)\(limit.map { " (\($0))" } ?? "")")
        }
        return number
    }

    /// An optional string: absent is nil; another type, or one with a NUL (cut by C), is an error.
    func text(_ key: String) throws(AgentFailure) -> String? {
        guard let value = self[key], !value.isNull else { return nil }
        guard let text = value.string, !text.contains("\0") else { throw AgentFailure(400, "\(key) must be a string") }
        return text
    }
}

/// An answer: a status, a content type and bytes (JSON unless the route says otherwise).
struct AgentResponse: Sendable {
    var status: Int
    var contentType = "application/json"
    var body: [UInt8]
    var headers: [(String, String)] = []

    /// A report, as the CLI's -o json prints it: schemaVersion, command, its keys, sorted findings.
    static func report(_ report: some Report, status: Int = 200) -> AgentResponse {
        AgentResponse(status: status, body: JSONReportRenderer.bytes(report, pretty: false))
    }

    static func json(_ value: ConfigValue, status: Int = 200) -> AgentResponse {
        AgentResponse(status: status, body: JSONWriter.bytes(value, pretty: false) + [10])
    }

    static func text(_ text: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8") -> AgentResponse {
        AgentResponse(status: status, contentType: contentType, body: Array(text.utf8))
    }

    static func failure(_ failure: AgentFailure) -> AgentResponse {
        var response = json(.fields(["error": .string(failure.message), "status": .int(failure.status)]), status: failure.status)
        response.headers = failure.headers
        return response
    }
}

/// A request refused or failed, with the HTTP status that says why.
struct AgentFailure: Error, Sendable {
    var status: Int
    var message: String
    var headers: [(String, String)] = []

    init(_ status: Int, _ message: String, headers: [(String, String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers
    }
}

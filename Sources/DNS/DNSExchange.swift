import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// How a DNS query went over one transport: what came back, or what the kernel said instead.
public enum DNSTransport: String, Sendable, CaseIterable {
    case udp, tcp
}

public struct DNSExchange: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// A response that parses (its code may still say NXDOMAIN, SERVFAIL, …).
        case answered(DNSResponse)
        /// Nothing within the timeout.
        case silent
        /// ICMP port unreachable (UDP) or a reset (TCP): nothing listens on port 53 there.
        case refused
        /// Another ICMP error or local failure (no route, network unreachable), in strerror's words.
        case unreachable(String)
        /// Bytes came back that are not a DNS answer to this query.
        case malformed(String)
        /// TCP: the server took the connection and closed it without an answer.
        case closed
    }

    public var server: IPAddress
    public var transport: DNSTransport
    public var name: DNSName
    public var type: DNSRecordType
    public var outcome: Outcome
    public var milliseconds: Double

    public init(server: IPAddress, transport: DNSTransport, name: DNSName, type: DNSRecordType, outcome: Outcome, milliseconds: Double) {
        self.server = server
        self.transport = transport
        self.name = name
        self.type = type
        self.outcome = outcome
        self.milliseconds = milliseconds
    }

    public var response: DNSResponse? { if case .answered(let response) = outcome { response } else { nil } }

    /// In a line: "NOERROR 10.96.0.80 (2.1 ms)", "no answer in 5000 ms", …
    public var summary: String {
        switch outcome {
        case .answered(let response):
            let data =
                response.addresses.isEmpty
                ? (response.code == .noError ? " (no \(type) record)" : "")
                : " " + response.addresses.map(\.description).joined(separator: ", ")
            return "\(response.code)\(data)\(response.truncated ? ", truncated" : "") in \(Self.format(milliseconds)) ms"
        case .silent: return "no answer in \(Self.format(milliseconds)) ms"
        case .refused:
            return transport == .udp ? "ICMP port unreachable: nothing listens on port 53" : "connection reset: nothing listens on port 53"
        case .unreachable(let reason): return reason
        case .malformed(let reason): return "an answer that does not parse: \(reason)"
        case .closed: return "the server closed the connection without an answer"
        }
    }

    static func format(_ milliseconds: Double) -> String { String(Double(Int(milliseconds * 10)) / 10) }
}

/// DNS queries sent from a namespace, as the pod's own resolver would send them: UDP (or TCP) to
/// port 53 of a nameserver, from a socket made inside the pod's network namespace.
public enum DNSClient {
    /// One query, waiting at most `timeoutMilliseconds`. A UDP answer of another id is skipped
    /// (it belongs to someone else), as a resolver does.
    public static func exchange(
        _ query: DNSQuery, server: IPAddress, transport: DNSTransport, in namespace: NetNamespace,
        timeoutMilliseconds: Int32
    ) -> DNSExchange {
        let start = MonotonicClock.fractionalMilliseconds
        let outcome: DNSExchange.Outcome
        do {
            outcome =
                try transport == .udp
                ? udp(query, server: server, in: namespace, timeout: timeoutMilliseconds)
                : tcp(query, server: server, in: namespace, timeout: timeoutMilliseconds)
        } catch {
            outcome = .unreachable("\(error)")
        }
        return DNSExchange(
            server: server, transport: transport, name: query.name, type: query.type, outcome: outcome,
            milliseconds: MonotonicClock.fractionalMilliseconds - start)
    }

    static func udp(_ query: DNSQuery, server: IPAddress, in namespace: NetNamespace, timeout: Int32) throws -> DNSExchange.Outcome {
        let socket = try ConnectedSocket(Int32(SOCK_DGRAM.rawValue), in: namespace, to: server.bytes, port: 53)
        if socket.connectError != 0 { return failure(socket.connectError) }
        let message = query.encoded()
        if send(socket.fd, message, message.count, 0) < 0 { return failure(errno) }
        let deadline = MonotonicClock.fractionalMilliseconds + Double(timeout)
        var buffer = [UInt8](repeating: 0, count: 65535)
        while true {
            let left = Int32(max(0, deadline - MonotonicClock.fractionalMilliseconds))
            guard left > 0, socket.wait(for: Int32(POLLIN), milliseconds: left) else { return .silent }
            let count = retryingOnInterrupt { recv(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) }
            if count < 0 {
                if errno == EAGAIN { continue }
                return failure(errno)
            }
            guard let response = try? DNSResponse(parsing: Array(buffer[..<count])) else {
                return .malformed("\(count) bytes that are not a DNS answer")
            }
            if response.id == query.id { return .answered(response) }
        }
    }

    static func tcp(_ query: DNSQuery, server: IPAddress, in namespace: NetNamespace, timeout: Int32) throws -> DNSExchange.Outcome {
        let socket = try ConnectedSocket(
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), in: namespace, to: server.bytes, port: 53)
        if socket.connectError != 0, socket.connectError != EINPROGRESS { return failure(socket.connectError) }
        let deadline = MonotonicClock.fractionalMilliseconds + Double(timeout)
        let left = { Int32(max(0, deadline - MonotonicClock.fractionalMilliseconds)) }
        guard socket.wait(for: Int32(POLLOUT), milliseconds: left()) else { return .silent }
        var error: Int32 = 0
        var length = socklen_t(4)
        getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &length)
        if error != 0 { return failure(error) }
        let message = query.encoded(tcp: true)
        if send(socket.fd, message, message.count, Int32(MSG_NOSIGNAL)) != message.count { return failure(errno) }
        // The answer's 2-byte length, then that many bytes, in as many reads as it takes.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65537)
        while received.count < 2 || received.count < 2 + (Int(received[0]) << 8 | Int(received[1])) {
            guard left() > 0, socket.wait(for: Int32(POLLIN), milliseconds: left()) else { return .silent }
            let count = retryingOnInterrupt { recv(socket.fd, &buffer, buffer.count, 0) }
            if count == 0 { return received.isEmpty ? .closed : .malformed("the connection closed after \(received.count) bytes") }
            if count < 0 {
                if errno == EAGAIN { continue }
                return failure(errno)
            }
            received += buffer[..<count]
            if received.count > 65537 { return .malformed("more bytes than one answer") }
        }
        let size = Int(received[0]) << 8 | Int(received[1])
        do {
            let response = try DNSResponse(parsing: Array(received[2..<(2 + size)]))
            return response.id == query.id ? .answered(response) : .malformed("an answer to another query (id \(response.id))")
        } catch {
            return .malformed(error.message)
        }
    }

    static func failure(_ error: Int32) -> DNSExchange.Outcome {
        error == ECONNREFUSED || error == ECONNRESET ? .refused : .unreachable(String(cString: strerror(error)))
    }
}

extension MonotonicClock {
    /// Milliseconds with a fraction: a local DNS answer takes well under one.
    static var fractionalMilliseconds: Double { Double(nanoseconds) / 1_000_000 }
}

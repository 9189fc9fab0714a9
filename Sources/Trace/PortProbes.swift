import NetAddress
import PathFacts
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A TCP handshake from the source namespace: SYN-ACK (open), RST (closed) or silence.
enum TCPProbe {
    /// `whileOpen` gets the socket's local port once the answer is in, before the socket closes
    /// (a trace to a Service reads the connection's conntrack entry then).
    static func connect(
        from namespace: NetNamespace, to destination: IPAddress, port: UInt16, timeoutMilliseconds: Int32,
        whileOpen: (UInt16?) -> Void = { _ in }
    ) throws -> ProbeResult {
        let socket = try ConnectedSocket(
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), in: namespace, to: destination.bytes, port: port)
        defer { whileOpen(socket.localPort) }
        let what = "TCP SYN to port \(port)"
        if socket.connectError != 0 && socket.connectError != EINPROGRESS { return failed(what, socket.connectError) }
        guard socket.wait(for: POLLOUT, milliseconds: timeoutMilliseconds) else {
            return ProbeResult(kind: .silent, description: "\(what): no answer in \(timeoutMilliseconds) ms")
        }
        var error: Int32 = 0
        var length = socklen_t(4)
        getsockopt(socket.fd, SOL_SOCKET, SO_ERROR, &error, &length)
        switch error {
        case 0: return ProbeResult(kind: .answered, description: "\(what): SYN-ACK (open)")
        case ECONNREFUSED: return ProbeResult(kind: .refused, description: "\(what): reset (closed)")
        default: return failed(what, error)
        }
    }
}

/// One UDP datagram from the source namespace on a connected socket: the kernel reports an ICMP
/// port unreachable for it as ECONNREFUSED (nothing listens), other ICMP errors likewise, and a
/// datagram back means a service answered. Silence is ambiguous for UDP: many services ignore a
/// datagram they cannot parse, so the captures, not the socket, tell where it went.
enum UDPProbe {
    static func send(
        from namespace: NetNamespace, to destination: IPAddress, port: UInt16, timeoutMilliseconds: Int32,
        whileOpen: (UInt16?) -> Void = { _ in }
    ) throws -> ProbeResult {
        let socket = try ConnectedSocket(Int32(SOCK_DGRAM.rawValue), in: namespace, to: destination.bytes, port: port)
        defer { whileOpen(socket.localPort) }
        let what = "UDP to port \(port)"
        let payload: [UInt8] = Array("netdoctor trace".utf8)
        if socket.connectError != 0 { return failed(what, socket.connectError) }
        if Glibc.send(socket.fd, payload, payload.count, 0) < 0 { return failed(what, errno) }
        guard socket.wait(for: POLLIN, milliseconds: timeoutMilliseconds) else {
            return ProbeResult(
                kind: .silent, description: "\(what): no answer in \(timeoutMilliseconds) ms (a UDP service may ignore the probe)")
        }
        var buffer = [UInt8](repeating: 0, count: 2048)
        if recv(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) >= 0 {
            return ProbeResult(kind: .answered, description: "\(what): a datagram came back")
        }
        return errno == ECONNREFUSED
            ? ProbeResult(kind: .refused, description: "\(what): ICMP port unreachable (closed)") : failed(what, errno)
    }
}

/// An ICMP error or local failure, in strerror's words.
private func failed(_ what: String, _ error: Int32) -> ProbeResult {
    let reason = String(cString: strerror(error))
    return ProbeResult(kind: .unreachable(reason), description: "\(what): \(reason)")
}

import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// One plain HTTP/1.0 GET to a port on this node's loopback, bounded in time and size: how
/// kube-proxy's metrics listener (127.0.0.1:10249) tells its mode (`/proxyMode`) and running
/// configuration (`/configz`) without the API server. Nothing else is spoken: no TLS, no
/// redirects, no keep-alive.
enum LoopbackHTTP {
    struct Response {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// nil when nothing answers in time or the answer is not HTTP.
    static func get(port: UInt16, path: String, timeoutMilliseconds: Int32 = 300, limit: Int = 1 << 20) -> Response? {
        guard let socket = try? Socket(domain: AF_INET, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), what: "TCP")
        else { return nil }
        let connected = SocketAddress.withIP(SocketAddress.loopback, port: port) { connect(socket.fd, $0, $1) }
        if connected != 0 {
            guard errno == EINPROGRESS, socket.wait(for: Int32(POLLOUT), milliseconds: timeoutMilliseconds),
                socket.get(SOL_SOCKET, SO_ERROR) == 0
            else { return nil }
        }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: netdoctor\r\n\r\n".utf8)
        guard send(socket.fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        let deadline = MonotonicClock.milliseconds + Int64(timeoutMilliseconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while received.count < limit {
            let left = deadline - MonotonicClock.milliseconds
            guard left > 0, socket.wait(for: Int32(POLLIN), milliseconds: Int32(left)) else { return nil }
            let count = retryingOnInterrupt { recv(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { break }
            if count < 0 {
                if errno == EAGAIN { continue }
                return nil
            }
            received += buffer[0..<count]
        }
        return parse(received)
    }

    /// "HTTP/1.x 200 OK\r\n…\r\n\r\nbody".
    static func parse(_ bytes: [UInt8]) -> Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 12, bytes.starts(with: Array("HTTP/1.".utf8)),
            let status = Int(String(decoding: bytes[9..<12], as: UTF8.self))
        else { return nil }
        var bodyStart = bytes.count
        if bytes.count >= 4 {
            for index in 0...(bytes.count - 4) where bytes[index..<index + 4].elementsEqual(separator) {
                bodyStart = index + 4
                break
            }
        }
        return Response(status: status, body: Array(bytes[bodyStart...]))
    }
}

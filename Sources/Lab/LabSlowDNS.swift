import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A DNS relay that answers late (lab break DNS_SLOW): this kernel has no netem to delay packets,
/// so the delay is made here. It takes queries on port 53 (UDP and TCP), waits, asks the real
/// server (dnsmasq, moved to 127.0.0.1:5353) and returns its answer unchanged.
public enum LabSlowDNS {
    public static let upstreamPort: UInt16 = 5353

    public static func run(delayMilliseconds: Int) -> Never {
        let udp = LabServer.bound(Int32(SOCK_DGRAM.rawValue), port: 53)
        let tcp = LabServer.bound(Int32(SOCK_STREAM.rawValue), port: 53)
        guard listen(tcp, 64) == 0 else { LabServer.fail("listen on TCP port 53") }
        let box = Descriptor(udp)
        SideBySide.detached { serveTCP(tcp, delay: delayMilliseconds) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in recvfrom(udp, &buffer, buffer.count, 0, raw, &length) }
            }
            guard n > 0 else { continue }
            let query = Array(buffer[..<n])
            let sender = peer
            SideBySide.detached {
                usleep(useconds_t(delayMilliseconds * 1000))
                guard let answer = ask(query, tcp: false) else { return }
                var to = sender
                _ = withUnsafePointer(to: &to) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(box.fd, answer, answer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
        }
    }

    /// Each TCP client: its length-prefixed query, the delay, the upstream's answer back.
    static func serveTCP(_ listener: Int32, delay: Int) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            SideBySide.detached {
                defer { close(client) }
                var message: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while message.count < 2 || message.count < 2 + (Int(message[0]) << 8 | Int(message[1])) {
                    let n = recv(client, &buffer, buffer.count, 0)
                    guard n > 0 else { return }
                    message += buffer[..<n]
                }
                usleep(useconds_t(delay * 1000))
                guard let answer = ask(message, tcp: true) else { return }
                _ = send(client, answer, answer.count, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// The upstream's answer to `message` (with TCP's length prefix when `tcp`), or nil after 3 s.
    static func ask(_ message: [UInt8], tcp: Bool) -> [UInt8]? {
        let fd = socket(AF_INET, tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = SocketAddress.withIP(SocketAddress.loopback, port: upstreamPort) { connect(fd, $0, $1) }
        guard connected == 0, send(fd, message, message.count, Int32(MSG_NOSIGNAL)) == message.count else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65537)
        repeat {
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { return answer.isEmpty ? nil : answer }
            answer += buffer[..<n]
        } while tcp && (answer.count < 2 || answer.count < 2 + (Int(answer[0]) << 8 | Int(answer[1])))
        return answer
    }

    final class Descriptor: @unchecked Sendable {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
    }
}

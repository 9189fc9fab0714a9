#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A Unix socket that is not the server a client expects: it answers `reply` and hangs up, or
/// (reply nil) accepts and says nothing, or (not listening) refuses. For the clients' hostile
/// cases (the runtime's CRI, Hubble).
public final class FakeUnixServer: @unchecked Sendable {
    public let path: String
    let fd: Int32
    let tree = NodeTree()

    public init(reply: [UInt8]?, listening: Bool = true) throws {
        path = tree.path + "/server.sock"
        let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        fd = sock
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = self.path
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw FakeServerError("bind \(path): errno \(errno)") }
        guard listening else { return }
        listen(sock, 16)
        ServerThread.start {
            while true {
                let client = accept(sock, nil, nil)
                if client < 0 { return }
                if let reply {
                    _ = reply.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    close(client)
                }
                // nil: hold the connection open and say nothing
            }
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

public struct FakeServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A detached thread for a test server.
public enum ServerThread {
    public static func start(_ body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ b: @escaping @Sendable () -> Void) { body = b }
        }
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
                box.body()
                return nil
            }, box)
        pthread_detach(thread)
    }
}

/// Seconds on the monotonic clock.
public enum Elapsed {
    public static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

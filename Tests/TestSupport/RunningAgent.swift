#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import ConfigFormats
import NodeFiles

/// `netdoctor agent` started for a test on loopback, with a token and a throw-away node root;
/// stopped (SIGTERM) by `stop()`.
public final class RunningAgent {
    public static let token = "test-token-0123456789abcdef"
    public let port: Int
    public let pid: pid_t
    public let tree: NodeTree
    public let logPath: String
    private var stopped: Int32?

    public init(extraArguments: [String] = []) throws {
        tree = NodeTree()
        tree.write("/etc/netdoctor/token", Self.token + "\n", mode: 0o600)
        logPath = tree.path + "/agent.log"
        // Port 0: the kernel picks a free one, and the agent's first log line says which.
        let arguments =
            [
                "agent", "--root", tree.path, "--listen", "127.0.0.1:0", "--token-file", tree.path + "/etc/netdoctor/token",
                "--node-name", "test-node",
            ] + extraArguments
        guard
            let pid = ChildProcess.spawnDetached(
                Binary.path, arguments: arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                log: logPath)
        else { throw TestFailure("cannot start the agent") }
        self.pid = pid
        var bound: Int? = nil
        for _ in 0..<400 where bound == nil {
            let firstLine = String(decoding: (try? NodeRoot("/").read(logPath)) ?? [], as: UTF8.self).split(separator: "\n").first
            bound = firstLine.flatMap { try? JSONParser.parse(String($0)) }?["port"]?.int
            if bound == nil { usleep(10_000) }
        }
        guard let bound else {
            kill(pid, SIGKILL)
            throw TestFailure("the agent did not start: \(String(decoding: (try? NodeRoot("/").read(logPath)) ?? [], as: UTF8.self))")
        }
        port = bound
    }

    public var isRunning: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// The agent's log lines (JSON) so far.
    public var log: String { String(decoding: (try? NodeRoot("/").read(logPath, limit: 64 << 20)) ?? [], as: UTF8.self) }

    /// SIGTERM, and the exit status it ended with (the first call; later ones return it again).
    @discardableResult
    public func stop() -> Int32 {
        if let stopped { return stopped }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        var exit: Int32 = -1
        for _ in 0..<200 {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { exit = (status >> 8) & 0xff; break }
            if reaped < 0 { break }  // already reaped
            usleep(10_000)
        }
        if exit < 0 {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        stopped = exit
        return exit
    }

    /// Memory the agent holds now (VmRSS, KiB).
    public var residentKiB: Int? {
        guard let bytes = try? NodeRoot("/").read("/proc/\(pid)/status") else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
    }
}

/// HTTP/1.1 over a plain socket, byte for byte as written: for requests no proper client sends.
public enum RawHTTP {
    public struct Answer {
        public var status: Int
        public var head: String
        public var body: String
    }

    public static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    public static func exchange(port: Int, _ request: String) throws -> Answer {
        try exchange(port: port, bytes: Array(request.utf8))
    }

    public static func exchange(port: Int, bytes: [UInt8], timeoutSeconds: Int = 10) throws -> Answer {
        let fd = try connected(port: port, timeoutSeconds: timeoutSeconds)
        defer { close(fd) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the agent may close early (a refused body): read what it said
            sent += n
        }
        let text = String(decoding: readAll(fd), as: UTF8.self)
        guard let headEnd = text.firstRange(of: "\r\n\r\n") else { throw TestFailure("no HTTP answer: \(text.prefix(200))") }
        let head = String(text[..<headEnd.lowerBound])
        return Answer(status: status(of: head), head: head, body: String(text[headEnd.upperBound...]))
    }

    /// A TCP connection to the loopback port, with a receive timeout.
    public static func connected(port: Int, timeoutSeconds: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect: \(errno)")
        }
        return fd
    }

    /// Everything until the peer closes (or the receive timeout).
    static func readAll(_ fd: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return received }
            received += buffer[..<n]
        }
    }

    /// The status code of an HTTP/1.1 answer's first line; 0 when there is none.
    static func status<S: StringProtocol>(of head: S) -> Int {
        head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    }

    public static func get(port: Int, _ path: String, token: String? = RunningAgent.token) throws -> Answer {
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return try exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Connection: close\r\n\r\n")
    }

    public static func post(port: Int, _ path: String, body: String, token: String? = RunningAgent.token) throws -> Answer {
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        return try exchange(
            port: port,
            "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        )
    }
}

extension RawHTTP {
    /// `count` connections opened and sent at once, then each answer's status (0: none).
    public static func many(port: Int, count: Int, _ request: String) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for _ in 0..<count { sockets.append(try connected(port: port, timeoutSeconds: 30)) }
        for fd in sockets { _ = request.utf8CString.withUnsafeBytes { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) } }
        return sockets.map { status(of: String(decoding: readAll($0).prefix(64), as: UTF8.self)) }
    }
}

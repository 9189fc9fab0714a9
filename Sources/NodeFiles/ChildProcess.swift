#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// Runs a program with a given environment and standard input, collects its output, and kills
/// it when it overruns its time. Used for read-only queries such as a CNI plugin's VERSION.
public enum ChildProcess {
    public struct Result: Sendable, Equatable {
        public var status: Int32
        public var output: [UInt8]
        public var timedOut: Bool
    }

    public static func run(_ path: String, arguments: [String] = [], environment: [String], input: [UInt8],
                           timeoutMilliseconds: Int32 = 2000, outputLimit: Int = 1 << 20) -> Result? {
        var stdinPipe: [Int32] = [0, 0]
        var stdoutPipe: [Int32] = [0, 0]
        guard closeOnExecPipe(&stdinPipe) else { return nil }
        guard closeOnExecPipe(&stdoutPipe) else {
            close(stdinPipe[0]); close(stdinPipe[1])
            return nil
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, envp)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0])
            return nil
        }
        // Small inputs fit the pipe buffer; a plugin that never reads cannot block us.
        _ = input.withUnsafeBytes { write(stdinPipe[1], $0.baseAddress, min($0.count, 65536)) }
        close(stdinPipe[1])

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var timedOut = false
        var remaining = timeoutMilliseconds
        while true {
            var fds = pollfd(fd: stdoutPipe[0], events: Int16(POLLIN), revents: 0)
            let started = monotonicMilliseconds()
            let ready = poll(&fds, 1, remaining)
            remaining -= Int32(monotonicMilliseconds() - started)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 || remaining <= 0 { timedOut = ready == 0 || remaining <= 0; break }
            let n = buffer.withUnsafeMutableBytes { read(stdoutPipe[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            output.append(contentsOf: buffer[..<n])
            if output.count > outputLimit { break }
        }
        close(stdoutPipe[0])
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus, output: output, timedOut: timedOut)
    }

    /// pipe(2) with both ends close-on-exec (pipe2 is hidden behind _GNU_SOURCE); dup2 in the
    /// child clears the flag on the copies it keeps.
    static func closeOnExecPipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

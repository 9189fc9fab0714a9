import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Runs a program with a given environment and standard input, collects its output and error
/// streams, and kills it when it overruns its time. netdoctor uses it for read-only queries
/// such as a CNI plugin's VERSION; tests use it to run the netdoctor binary.
public enum ChildProcess {
    public struct Result: Sendable, Equatable {
        public var status: Int32
        public var output: [UInt8]
        public var errorOutput: [UInt8]
        public var timedOut: Bool

        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: errorOutput, as: UTF8.self) }
    }

    /// `endGroup`: when it is done (or overran), kill whatever it started in its process group
    /// too, such as a plugin that left a process behind.
    /// `streaming`: standard output is handed over chunk by chunk as it arrives (and not kept in
    /// the result), so the caller's parse runs while the child is still writing.
    public static func run(
        _ path: String, arguments: [String] = [], environment: [String], input: [UInt8] = [],
        timeoutMilliseconds: Int32 = 2000, outputLimit: Int = 16 << 20, endGroup: Bool = false,
        streaming: ((UnsafeBufferPointer<UInt8>) -> Void)? = nil
    ) -> Result? {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                pipes.forEach {
                    close($0[0]); close($0[1])
                }; return nil
            }
            // Close-on-exec (pipe2 is hidden behind _GNU_SOURCE); dup2 clears it on the child's copies.
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            pipes.append(fds)
        }
        let (stdinPipe, stdoutPipe, stderrPipe) = (pipes[0], pipes[1], pipes[2])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A process group of its own, so that an overrun kills whatever it started too.
        posix_spawnattr_setpgroup(&attributes, 0)
        resetSignals(&attributes, extraFlags: Int16(POSIX_SPAWN_SETPGROUP))
        var pid: pid_t = 0
        let spawned = withCStrings([path] + arguments, environment) { argv, envp in
            posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        }
        close(stdinPipe[0]); close(stdoutPipe[1]); close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0]); close(stderrPipe[0])
            return nil
        }
        writeWithoutSIGPIPE(stdinPipe[1], input)
        close(stdinPipe[1])
        // A streaming reader lets the child run ahead by a larger pipe (F_SETPIPE_SZ), up to 1 MiB.
        if streaming != nil { _ = fcntl(stdoutPipe[0], 1031 /* F_SETPIPE_SZ */, Int32(1 << 20)) }

        var output: [UInt8] = [], errorOutput: [UInt8] = []
        var streamed = 0
        var open: [Int32] = [stdoutPipe[0], stderrPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicMilliseconds() + Int64(timeoutMilliseconds)
        var timedOut = false
        while !open.isEmpty {
            let remaining = deadline - monotonicMilliseconds()
            if remaining <= 0 { timedOut = true; break }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            // Interrupted, the loop goes round and polls again for what is left of the time.
            let ready = poll(&fds, nfds_t(fds.count), Int32(remaining))
            if ready < 0 { if errno == EINTR { continue }; break }
            for fd in fds where fd.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fd.fd, $0.baseAddress, $0.count) }
                if n <= 0 {
                    open.removeAll { $0 == fd.fd }
                    continue
                }
                if fd.fd == stdoutPipe[0] {
                    if let streaming {
                        buffer.withUnsafeBufferPointer { streaming(UnsafeBufferPointer(rebasing: $0[..<n])) }
                        streamed += n
                    } else {
                        output.append(contentsOf: buffer[..<n])
                    }
                } else {
                    errorOutput.append(contentsOf: buffer[..<n])
                }
            }
            if output.count + streamed + errorOutput.count > outputLimit { timedOut = true; break }
        }
        close(stdoutPipe[0]); close(stderrPipe[0])
        if timedOut { kill(-pid, SIGKILL) }
        var status: Int32 = 0
        _ = retryingOnInterrupt { waitpid(pid, &status, 0) }
        if endGroup { kill(-pid, SIGKILL) }
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitStatus, output: output, errorOutput: errorOutput, timedOut: timedOut)
    }

    /// Writes the child's input. A child that exits without reading makes the write raise
    /// SIGPIPE, which would kill us: block it on this thread and swallow the one we caused.
    /// Inputs here fit the pipe buffer, so a child that never reads cannot block us either.
    static func writeWithoutSIGPIPE(_ fd: Int32, _ input: [UInt8]) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        _ = input.withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, 65536)) }
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGPIPE) == 1 {
            var now = timespec()
            _ = sigtimedwait(&pipeSignal, nil, &now)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// Starts a program in its own session with stdio on /dev/null and does not wait for it:
    /// a daemon such as the lab's HTTP server. Returns its pid.
    /// `log`: a file its stdout and stderr are appended to (else /dev/null).
    public static func spawnDetached(_ path: String, arguments: [String], environment: [String], log: String? = nil) -> pid_t? {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for fd: Int32 in 1...2 {
            if let log {
                posix_spawn_file_actions_addopen(&actions, fd, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            } else {
                posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        resetSignals(&attributes, extraFlags: 0x80)  // POSIX_SPAWN_SETSID: not in our session
        var pid: pid_t = 0
        let spawned = withCStrings([path] + arguments, environment) { argv, envp in
            posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        }
        return spawned == 0 ? pid : nil
    }

    /// The child starts with no signal blocked and the usual ones at their defaults, whatever
    /// this process (a test runner, a thread with signals masked) has.
    static func resetSignals(_ attributes: inout posix_spawnattr_t, extraFlags: Int16 = 0) {
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | extraFlags)
    }

    /// argv and envp as NULL-terminated C arrays for the duration of `body`.
    static func withCStrings<R>(
        _ arguments: [String], _ environment: [String],
        _ body: ([UnsafeMutablePointer<CChar>?], [UnsafeMutablePointer<CChar>?]) -> R
    ) -> R {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        return body(argv, envp)
    }

    public static func monotonicMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

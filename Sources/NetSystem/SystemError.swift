#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// A failed system call: which operation, on what, and errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var context: String?
    /// Said instead of strerror when the call worked but its object is not what was expected
    /// (a FIFO where a namespace should be).
    public var detail: String?

    public init(_ operation: String, errno: Int32, context: String? = nil, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.context = context
        self.detail = detail
    }

    /// A path that names something other than a network namespace: bad input, not a namespace
    /// that went away.
    public var isNotANamespace: Bool { detail != nil && operation == "open namespace" }

    /// The current errno of a call that just failed.
    public static func last(_ operation: String, context: String? = nil) -> SystemError {
        SystemError(operation, errno: Glibc.errno, context: context)
    }

    /// Missing privileges: the contract's exit status 3, not a bug.
    public var isPermission: Bool { errno == EPERM || errno == EACCES }
    /// The thing is gone (a namespace that vanished, an interface deleted meanwhile).
    public var isGone: Bool { errno == ENOENT || errno == ENODEV || errno == ESRCH }

    public var description: String {
        let what = detail ?? String(cString: strerror(errno))
        return "\(operation)\(context.map { " \($0)" } ?? ""): \(what)"
    }
}

/// Retries a call interrupted by a signal, as every blocking call here must.
@inline(__always)
public func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}

/// Writes all of `bytes` to `fd`, in as many writes as it takes (a pipe takes them in pieces),
/// each retried when a signal interrupts it. 0 when all were written, else the errno that
/// stopped it (EPIPE: nobody reads any more).
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
    var done = 0
    while done < bytes.count {
        let n = retryingOnInterrupt { write(fd, bytes.baseAddress! + done, bytes.count - done) }
        if n <= 0 { return n < 0 ? errno : EIO }
        done += n
    }
    return 0
}

/// A system call: retried when a signal interrupts it, its -1 turned into a SystemError naming
/// `operation` and errno (as NIO's `syscall(blocking:where:)` and swift-system's `valueOrErrno`).
@inline(__always)
public func systemCall<T: BinaryInteger>(_ operation: String, context: String? = nil, _ call: () -> T) throws(SystemError) -> T {
    let result = retryingOnInterrupt(call)
    if result < 0 { throw SystemError.last(operation, context: context) }
    return result
}

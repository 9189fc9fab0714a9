import CNetShims

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Runs short pieces of work inside another network namespace on a dedicated thread.
///
/// setns(2) moves only the calling thread, and Swift concurrency and Dispatch hop threads, so
/// namespace work never happens on their pools. This thread enters the target namespace, runs
/// the work (typically: open a socket, which stays bound to that namespace), and switches back
/// before taking the next job. If it cannot switch back it stops: a thread stuck in the wrong
/// namespace must not run anything else. The work must not create threads (they would inherit
/// the namespace).
public final class NamespaceThread: @unchecked Sendable {
    public static let shared = NamespaceThread()

    /// A few more threads, for work that must run side by side in several namespaces (opening a
    /// capture handle in each hop's namespace): a fixed set, so no call leaves a thread behind.
    public static let workers: [NamespaceThread] = (0..<8).map { _ in NamespaceThread() }

    /// The worker for the `index`th of several parallel jobs.
    public static func worker(_ index: Int) -> NamespaceThread { workers[index % workers.count] }

    private let signal = ConditionLock()
    private var jobs: [() -> Void] = []
    private var running = false
    private var broken = false
    /// The namespace the thread returns to after each job.
    private var home: Int32 = -1

    public init() {}

    /// Runs `body` inside `namespace` and returns its result; the caller blocks until it is done.
    /// (`body` is escaping because the worker thread still holds the job for an instant after
    /// signalling completion; a non-escaping closure would trip Swift's escape check.)
    public func run<T>(in namespace: NetNamespace, _ body: @escaping () throws -> T) throws -> T {
        let completion = Completion<T>()
        try enqueue {
            completion.finish(self.enterAndRun(namespace, body))
        }
        return try completion.wait().get()
    }

    /// Runs `body` inside each of `namespaces` in turn, in one visit to the thread: it goes from
    /// one namespace straight into the next and home once at the end (a sweep of a hundred pods
    /// pays one setns per pod, not two and a hand-off each). A namespace that cannot be entered
    /// fails alone; its body does not run.
    public func runEach<T>(in namespaces: [NetNamespace], _ body: @escaping (Int) throws -> T) throws -> [Result<T, any Error>] {
        let completion = Completion<[Result<T, any Error>]>()
        try enqueue {
            completion.finish(.success(self.enterEach(namespaces, body)))
        }
        return try completion.wait().get()
    }

    private func enterEach<T>(_ namespaces: [NetNamespace], _ body: (Int) throws -> T) -> [Result<T, any Error>] {
        var results: [Result<T, any Error>] = []
        results.reserveCapacity(namespaces.count)
        for (index, namespace) in namespaces.enumerated() {
            if cns_setns(namespace.fd, cns_clone_newnet) != 0 {
                results.append(.failure(SystemError.last("setns", context: namespace.path)))
                continue
            }
            results.append(Result { try body(index) })
        }
        if cns_setns(home, cns_clone_newnet) != 0 { broken = true }
        return results
    }

    /// The same, for async callers: the work still runs on the dedicated thread.
    public func perform<T: Sendable>(in namespace: NetNamespace, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try enqueue {
                    continuation.resume(with: self.enterAndRun(namespace, body))
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private func enterAndRun<T>(_ namespace: NetNamespace, _ body: () throws -> T) -> Result<T, any Error> {
        if cns_setns(namespace.fd, cns_clone_newnet) != 0 {
            return .failure(SystemError.last("setns", context: namespace.path))
        }
        let result = Result { try body() }
        if cns_setns(home, cns_clone_newnet) != 0 {
            // Stuck in the wrong namespace: stop taking work; the next caller starts a new thread.
            broken = true
        }
        return result
    }

    private func enqueue(_ job: @escaping () -> Void) throws(SystemError) {
        signal.lock()
        defer { signal.unlock() }
        if broken {
            throw SystemError("namespace thread", errno: EIO, context: "could not return to its namespace")
        }
        jobs.append(job)
        if !running {
            try start()
            running = true
        }
        signal.signal()
    }

    /// Starts the thread, noting the namespace it starts in as its home.
    private func start() throws(SystemError) {
        if home < 0 {
            // The creating thread's namespace: the node's, for netdoctor's main thread.
            home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
            if home < 0 { throw .last("open", context: "/proc/thread-self/ns/net") }
        }
        var thread = pthread_t()
        let unmanaged = Unmanaged.passRetained(self)
        let status = pthread_create(
            &thread, nil,
            { argument in
                let owner = Unmanaged<NamespaceThread>.fromOpaque(argument!).takeRetainedValue()
                owner.loop()
                return nil
            }, unmanaged.toOpaque())
        if status != 0 {
            unmanaged.release()
            throw SystemError("pthread_create", errno: status)
        }
        pthread_detach(thread)
    }

    private func loop() {
        while true {
            signal.lock()
            while jobs.isEmpty { signal.wait() }
            let job = jobs.removeFirst()
            signal.unlock()
            job()
            signal.lock()
            let stop = broken
            if stop { running = false }
            signal.unlock()
            if stop { return }
        }
    }
}

/// A mutex and condition variable at stable addresses (a Swift stored property passed with `&`
/// may be a temporary copy, which pthread objects must never be).
final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(condition)
        mutex.deallocate()
        condition.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_broadcast(condition) }
}

/// One job's result, handed from the namespace thread to the waiting caller.
final class Completion<T>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var result: Result<T, any Error>?

    func finish(_ value: Result<T, any Error>) {
        lock.lock()
        result = value
        lock.signal()
        lock.unlock()
    }

    func wait() -> Result<T, any Error> {
        lock.lock()
        defer { lock.unlock() }
        while result == nil { lock.wait() }
        return result!
    }
}

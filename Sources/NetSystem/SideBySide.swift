import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Runs jobs that mostly wait, one thread each, all at once, and returns when every one is done.
///
/// Dispatch's `concurrentPerform` runs as many jobs at once as there are cores: right for CPU
/// work, wrong for waits. Opening or closing a packet socket waits for the kernel's RCU grace
/// period (tens of milliseconds, no CPU); on two cores, five capture points closed "at once"
/// waited three grace periods one after another. Side by side they wait about one.
public enum SideBySide {
    /// `body` of each job, each on its own thread at once; the results in the jobs' order.
    public static func map<Job: Sendable, Result: Sendable>(_ jobs: [Job], _ body: @escaping @Sendable (Job) -> Result) -> [Result] {
        let results = ResultSlots<Result>(count: jobs.count)
        run(jobs.count) { index in results.set(index, body(jobs[index])) }
        return results.values
    }

    /// Runs `body(0)` … `body(count - 1)`, each on its own thread (the first on the caller's).
    /// A thread that cannot be started runs its job on the caller's thread instead.
    public static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard count > 1 else {
            if count == 1 { body(0) }
            return
        }
        var threads: [pthread_t] = []
        for index in 1..<count {
            if let thread = start(Job(index: index, body: body)) { threads.append(thread) } else { body(index) }
        }
        body(0)
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Runs `body` on a thread of its own and returns at once: for a wait nobody needs to see the
    /// end of (closing a packet socket). Without a thread, it runs on the caller's.
    public static func detached(_ body: @escaping @Sendable () -> Void) {
        if let thread = start(Job(index: 0, body: { _ in body() })) { pthread_detach(thread) } else { body() }
    }

    /// A thread running `job`; nil when none could be started.
    private static func start(_ job: Job) -> pthread_t? {
        let retained = Unmanaged.passRetained(job)
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.body(job.index)
                return nil
            }, retained.toOpaque())
        guard status == 0 else {
            retained.release()
            return nil
        }
        return thread
    }

    private final class Job {
        let index: Int
        let body: @Sendable (Int) -> Void
        init(index: Int, body: @escaping @Sendable (Int) -> Void) {
            self.index = index
            self.body = body
        }
    }
}

/// Slots each thread fills once; read after every thread joined.
final class ResultSlots<Value: Sendable>: Sendable {
    private let slots: Mutex<[Value?]>
    init(count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }
    func set(_ index: Int, _ value: Value) { slots.withLock { $0[index] = value } }
    var values: [Value] { slots.withLock { $0.compactMap { $0 } } }
}

import Dispatch
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A task executor of one thread of its own, for a synchronous command's async client call (gRPC
/// to the runtime or to Hubble): the call's tasks run here, not on the shared cooperative pool,
/// so a pool whose threads are all blocked (a busy agent, a test run on two cores) cannot starve
/// it while its caller waits. The thread ends with `finish()`, once its queue is empty.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let jobs = Mutex<(queue: [UnownedJob], finished: Bool, exited: Bool)>(([], false, false))
    private let ready = DispatchSemaphore(value: 0)

    public init() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        pthread_create(
            &thread, nil,
            { raw in
                let executor = Unmanaged<ThreadExecutor>.fromOpaque(raw!).takeRetainedValue()
                executor.run()
                return nil
            }, box)
        pthread_detach(thread)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let taken = jobs.withLock { state -> Bool in
            guard !state.exited else { return false }
            state.queue.append(unowned)
            return true
        }
        // A task abandoned by its caller (timed out) still finishes, on the shared pool.
        guard taken else { return globalConcurrentExecutor.enqueue(unowned) }
        ready.signal()
    }

    /// No more work will come: the thread ends when what is queued has run.
    public func finish() {
        jobs.withLock { $0.finished = true }
        ready.signal()
    }

    private func run() {
        while true {
            ready.wait()
            while let job = jobs.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
            let done = jobs.withLock { state -> Bool in
                if state.finished && state.queue.isEmpty { state.exited = true }
                return state.exited
            }
            if done { return }
        }
    }
}

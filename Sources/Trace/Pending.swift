import Dispatch

/// Work started now on a Dispatch thread and waited for later: for calls that only wait on the
/// network (the remote agent), never for namespace work, which has its own threads.
final class Pending<Value: Sendable>: @unchecked Sendable {
    private var value: Value?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            self.value = work()
            self.done.signal()
        }
    }

    /// The value, once the work is done; any number of calls.
    func wait() -> Value {
        done.wait()
        done.signal()  // the next waiter passes at once; the semaphore orders the read after the write
        return value!
    }
}

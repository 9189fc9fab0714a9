import Dispatch
import Synchronization

/// A result handed from an async task (a gRPC call) to the thread that waits for it, with a
/// timeout: the synchronous commands wait for their clients this way, never longer than asked.
public final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    public init() {}

    public func finish(_ value: Result<T, any Error>) {
        result.withLock { $0 = value }
        done.signal()
    }

    /// The result, or nil when none came within `budget`.
    public func wait(for budget: Duration) -> Result<T, any Error>? {
        let (seconds, attoseconds) = budget.components
        let nanos = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        guard done.wait(timeout: .now() + .nanoseconds(nanos)) == .success else { return nil }
        return result.withLock { $0 }
    }
}

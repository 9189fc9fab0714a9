import NodeCheck

/// The journal's sandbox failures of the last hour, kept between the checks of a long-running
/// caller (the watching agent, every interval): each check reads only the entries written since
/// the one before (journalctl --after-cursor), not the whole hour again. One caller at a time.
public final class JournalWindow: @unchecked Sendable {
    /// The last entry read.
    private(set) var cursor: String?
    private(set) var failures: [SandboxFailure] = []
    /// At most this many failures are kept (the newest): a node failing every sandbox for an hour.
    static let limit = 20_000

    public init() {}

    /// The failures just read, after those kept (when the read `continued` from the cursor) that
    /// are still inside the window.
    func keep(_ new: [SandboxFailure], continued: Bool, since: Double, cursor: String?) {
        let kept = continued ? failures.filter { ($0.time ?? since) >= since } : []
        failures = Array((kept + new).suffix(Self.limit))
        if let cursor { self.cursor = cursor } else if !continued { self.cursor = nil }
    }
}

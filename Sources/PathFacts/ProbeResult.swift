/// What the probe itself found, before the packets are read: a fact the verdict judges.
public struct ProbeResult: Sendable {
    public enum Kind: Sendable { case answered, refused, silent, unreachable(String) }
    public var kind: Kind
    public var description: String
    /// Capture points that could not be opened or stopped early: their hops saw nothing.
    public var captureProblems: [String] = []

    public init(kind: Kind, description: String) {
        self.kind = kind
        self.description = description
    }

    public var reachable: Bool { if case .answered = kind { return true }; return false }
    public var portClosed: Bool { if case .refused = kind { return true }; return false }
}

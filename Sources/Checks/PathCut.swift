import Diagnosis
import PathFacts

/// How much a static prediction that the path is cut (a link down, no route, a next hop or VTEP
/// that does not resolve) weighs: an error, unless the probe was answered all the same. Then the
/// packets contradict the prediction, and the check makes it a warning that says so.
public struct PathCut: Sendable {
    public let answered: Bool

    public init(answered: Bool = false) { self.answered = answered }
    public init(_ facts: PathFacts) { answered = facts.probeAnswered == true }

    public var severity: Severity { answered ? .warning : .error }
    public func evidence(_ lines: [String]) -> [String] { answered ? lines + ["but the probe was answered"] : lines }
}

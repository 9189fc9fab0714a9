import Diagnosis

/// What `check --probe` sent and what came back: the MTU sweep from one pod, one DNS lookup from
/// that pod, each peer agent's health. Their judgements are the commands' own (mtu-probe's,
/// dns's, the remote half's), kept here and not judged again. Without --probe it is nil and
/// nothing is sent.
public struct CheckProbes: Sendable {
    /// One probe: what it was, where it went, what came back, in a line.
    public struct Sent: Sendable, Equatable {
        public var probe: String
        public var target: String
        public var outcome: String

        public init(probe: String, target: String, outcome: String) {
            self.probe = probe
            self.target = target
            self.outcome = outcome
        }
    }

    /// The pod the MTU sweep and the DNS lookup started from.
    public var pod: String?
    public var sent: [Sent] = []
    /// Probes that were not sent, and why (no pod to probe from, no agent token, …).
    public var notSent: [String] = []
    public var findings: [Finding] = []

    public init() {}
}

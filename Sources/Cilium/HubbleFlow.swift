import NetAddress

/// One of Hubble's flows, as much of it as a trace says: its verdict, Cilium's drop reason, the
/// direction, and the policies that allowed or denied it (Cilium 1.18 fills those in).
public struct HubbleFlow: Sendable, Equatable {
    /// flow.Verdict by name: FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED.
    public var verdict: String
    /// Cilium's drop reason code (flow.DropReason: the datapath's codes, 130 on), 0 for none.
    public var dropReason: Int
    public var source: String
    public var destination: String
    /// INGRESS, EGRESS, or "" when Hubble does not say.
    public var direction: String
    /// The policies that denied it, then those that allowed it, as "namespace/name" (kind first when given).
    public var deniedBy: [String]
    public var allowedBy: [String]
    public var node: String
    public var summary: String

    public init(
        verdict: String, dropReason: Int, source: String, destination: String, direction: String = "", deniedBy: [String] = [],
        allowedBy: [String] = [], node: String = "", summary: String = ""
    ) {
        self.verdict = verdict
        self.dropReason = dropReason
        self.source = source
        self.destination = destination
        self.direction = direction
        self.deniedBy = deniedBy
        self.allowedBy = allowedBy
        self.node = node
        self.summary = summary
    }
}

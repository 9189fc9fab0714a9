import Diagnosis
import PathFacts

/// COLLECTION_FAILED: a fact netdoctor could not gather (a lookup the kernel refused to answer, a
/// namespace that vanished, a read without permission). Said as what it is, never judged as a
/// network fault: the verdict does not rest on it.
public enum CollectionFailed: PathCheck {
    public static let codes: [FindingCode] = [.collectionFailed]

    public static func check(_ facts: PathFacts) -> [Finding] {
        let failedLookups = facts.lookups.compactMap { lookup in lookup.answer.failure.map { "\(lookup.namespace): \($0)" } }
        let gaps = facts.collectionErrors.map(\.description) + failedLookups
        guard !gaps.isEmpty else { return [] }
        return [finding(gaps, place: facts.nodeLabel)]
    }

    /// One warning for everything one gathering could not read. `scope`: what was gathered
    /// ("this path", "this node"), `again`: the command to run again.
    public static func finding(_ gaps: [String], place: String?, scope: String = "this path", again: String = "trace") -> Finding {
        Finding(
            .collectionFailed, .warning, "netdoctor could not gather every fact on \(scope): what depends on them is not judged.",
            hop: place, evidence: gaps,
            remedy:
                "Run as root on the node itself (or in the agent's DaemonSet pod with hostNetwork and CAP_NET_ADMIN), then \(again) again."
        )
    }
}

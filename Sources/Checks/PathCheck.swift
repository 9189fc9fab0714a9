import Diagnosis
import PathFacts

/// A check judges gathered facts and nothing else: no socket, no file, no clock. Each finding code
/// is raised by one file (docs/findings.md names it for every code; a test holds them together).
public protocol PathCheck: Sendable {
    /// The codes this check raises.
    static var codes: [FindingCode] { get }
    static func check(_ facts: PathFacts) -> [Finding]
}

/// The static checks a path's facts go through, before any packet is sent, in the order their
/// findings are listed.
public enum PathChecks {
    public static let all: [any PathCheck.Type] = [
        CollectionFailed.self, NoRoute.self, IPForwardDisabled.self, BridgePortMissing.self, OverlayFDBMissing.self,
        NeighborChecks.self, DuplicateIP.self, LinkDown.self, AddressState.self, RouterAdvertisements.self,
    ]

    public static func run(_ facts: PathFacts) -> [Finding] { all.flatMap { $0.check(facts) } }
}

import Netlink
import NetSystem
import Pods
import Session

/// A failure the user can act on: one line on stderr and the contract's exit status.
public struct CLIError: Error, CustomStringConvertible {
    public enum Kind: Int32, Sendable {
        /// Bad usage or bad input (an unreadable file named on the command line, an unknown pod): 2.
        case badInput = 2
        /// The environment does not allow it (missing privileges, a namespace gone): 3.
        case environment = 3
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension CLIError {
    /// Maps what namespace and netlink work can throw onto the contract's statuses.
    init(kernelError error: any Error, doing what: String) {
        switch error {
        case let error as PodLookupError:
            self.init(
                [.namespaceGone, .permissionDenied, .namespaceMismatch].contains(error.kind) ? .environment : .badInput, error.message)
        case let error as SystemError where error.isNotANamespace:
            self.init(.badInput, "\(what): \(error): the node's records name something that is not a network namespace")
        case let error as SystemError where error.isPermission:
            self.init(.environment, "\(what): \(error) — run as root (CAP_NET_ADMIN and CAP_SYS_ADMIN are needed to enter namespaces)")
        case let error as SystemError where error.isGone || error.errno == 22:
            self.init(.environment, "\(what): \(error) — the namespace went away while netdoctor read it")
        case let error as NetlinkError where error.isPermission:
            self.init(.environment, "\(what): \(error) — run as root")
        case let error as CLIError:
            self = error
        case let error as SessionError:
            self.init(.badInput, error.description)
        default:
            self.init(.environment, "\(what): \(error)")
        }
    }
}

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

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// ANSI styling, or none. Colour only on a terminal whose TERM is not "dumb", and never when
/// NO_COLOR is set or --no-color is given (no-color.org).
public struct TextStyle: Sendable {
    public let colored: Bool

    public init(colored: Bool) { self.colored = colored }

    public static let plain = TextStyle(colored: false)

    /// Decides for standard output from the environment and the flag.
    public static func forStandardOutput(noColorFlag: Bool) -> TextStyle {
        let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) } }
        if noColorFlag || env("NO_COLOR").map({ !$0.isEmpty }) == true { return .plain }
        if env("TERM") == "dumb" || isatty(STDOUT_FILENO) == 0 { return .plain }
        return TextStyle(colored: true)
    }

    public func bold(_ s: String) -> String { wrap(s, "1") }
    public func dim(_ s: String) -> String { wrap(s, "2") }
    public func red(_ s: String) -> String { wrap(s, "31") }
    public func yellow(_ s: String) -> String { wrap(s, "33") }
    public func green(_ s: String) -> String { wrap(s, "32") }
    public func cyan(_ s: String) -> String { wrap(s, "36") }

    /// The escape sequences this style writes: the only ones a human report keeps.
    public var codes: [String] { colored ? ["1", "2", "31", "33", "32", "36", "0"].map { "\u{1B}[\($0)m" } : [] }

    private func wrap(_ s: String, _ code: String) -> String {
        colored ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
    }
}

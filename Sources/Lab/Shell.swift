import NodeFiles

/// Why the lab could not do something: the command and what it said.
public struct LabError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs the system tools the lab wires namespaces with (ip, bridge, iptables, sysctl).
enum Shell {
    static let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]

    /// Runs a command and returns its output; throws with its stderr when it fails.
    @discardableResult
    static func run(
        _ arguments: [String], input: String = "", timeoutMilliseconds: Int32 = 15_000,
        environment extra: [String] = []
    ) throws(LabError) -> String {
        guard let executable = find(arguments[0]) else { throw LabError("\(arguments[0]) is not installed (run scripts/setup)") }
        guard
            let result = ChildProcess.run(
                executable, arguments: Array(arguments.dropFirst()), environment: environment + extra,
                input: Array(input.utf8), timeoutMilliseconds: timeoutMilliseconds)
        else {
            throw LabError("cannot run \(arguments.joined(separator: " "))")
        }
        if result.timedOut { throw LabError("\(arguments.joined(separator: " ")) did not finish in \(timeoutMilliseconds / 1000) s") }
        guard result.status == 0 else {
            let said = (result.errorText.isEmpty ? result.outputText : result.errorText).split(separator: "\n").first.map(String.init) ?? ""
            throw LabError("\(arguments.joined(separator: " ")) failed (exit \(result.status)): \(said)")
        }
        return result.outputText
    }

    /// Runs a command, ignoring failure (teardown of things that may already be gone).
    static func attempt(_ arguments: [String]) {
        _ = try? run(arguments)
    }

    /// Runs a command inside a named namespace, as `ip netns exec` does.
    @discardableResult
    static func inNamespace(
        _ namespace: String, _ arguments: [String], input: String = "", timeoutMilliseconds: Int32 = 15_000,
        environment extra: [String] = []
    ) throws(LabError) -> String {
        try run(["ip", "netns", "exec", namespace] + arguments, input: input, timeoutMilliseconds: timeoutMilliseconds, environment: extra)
    }

    static func find(_ command: String) -> String? {
        if command.hasPrefix("/") { return command }
        for dir in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
            let path = dir + "/" + command
            if NodeRoot("/").status(path)?.isExecutable == true { return path }
        }
        return nil
    }
}

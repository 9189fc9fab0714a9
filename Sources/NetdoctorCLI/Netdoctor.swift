import ConfigFormats
import ArgumentParser
import NetSystem
import Session

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// The root command. Every subcommand takes the global options (--root, --output, --no-color).
public struct Netdoctor: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "netdoctor",
        abstract: "Explains Kubernetes pod networking failures on a node.",
        discussion: """
            Runs on the node (or in a privileged pod with the node's root at --root), needs no API server, \
            and works for any CNI. Exit status: 0 healthy, 1 a problem found, 2 bad usage or input, \
            3 the environment does not allow it.
            """,
        version: "0.1.0",
        subcommands: [
            CheckCommand.self, DetectCNICommand.self, InspectCommand.self, MTUProbeCommand.self, TraceCommand.self, ServicesCommand.self,
            DNSCommand.self,
            PolicyCommand.self, CaptureCommand.self,
            AgentCommand.self, IncidentsCommand.self, LabPassthrough.self,
            ExplainCommand.self,
        ])

    public init() {}

    /// Parses, runs, and exits with the contract's status: usage errors are 2, not
    /// ArgumentParser's 64, and failures print one line on stderr.
    public static func runAndExit(arguments: [String]? = nil) -> Never {
        let arguments = globalOptionsAfterSubcommand(arguments ?? Array(CommandLine.arguments.dropFirst()))
        // The lab is its own executable: every lab word, --help included, is its to parse.
        if arguments.first == "lab" { LabPassthrough.exec(Array(arguments.dropFirst())) }
        run(root: Self.self, arguments: arguments)
    }

    /// Parses with `root` (or the leaf command the arguments name), runs, and exits with the
    /// contract's status; netdoctor-lab runs its own root through it too.
    public static func run(root: any ParsableCommand.Type, arguments: [String]) -> Never {
        let parser: any ParsableCommand.Type = (root == Self.self ? directlyParsed(arguments) : nil) ?? root
        do {
            var command = try parser == root ? root.parseAsRoot(arguments) : parser.parseAsRoot(Array(arguments.dropFirst()))
            try command.run()
            Glibc.exit(0)
        } catch let error as CLIError {
            fail(error.message, status: error.kind.rawValue, arguments: arguments)
        } catch let error as SessionError {
            fail(error.description, status: CLIError.Kind.badInput.rawValue, arguments: arguments)
        } catch let error as ExitCode {
            Glibc.exit(error.rawValue)
        } catch {
            if parser.exitCode(for: error) == .success {
                let message = parser.fullMessage(for: error)  // --help, --version, completion scripts
                if !message.isEmpty { writeStandardOutput(message + "\n") }
                Glibc.exit(0)
            }
            // Bad usage: one line, the contract's status 2 (not ArgumentParser's 64).
            let firstLine = parser.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
            fail(
                "\(firstLine.replacingPrefix("Error: ", with: "")) (see '\(root.configuration.commandName ?? "netdoctor") --help')",
                status: 2, arguments: arguments)
        }
    }

    /// Commands with no subcommands of their own, parsed on their own rather than through the
    /// root. Parsing through the root builds the whole command tree first (every subcommand's
    /// configuration, every option group reflected): about a millisecond at every start, which
    /// a capture pays against tcpdump. Help, version and completions keep the root's path, so
    /// their text names `netdoctor`.
    static func leafCommand(_ name: String) -> (any ParsableCommand.Type)? {
        switch name {
        case "capture": CaptureCommand.self
        case "trace": TraceCommand.self
        case "inspect": InspectCommand.self
        case "mtu-probe": MTUProbeCommand.self
        case "detect-cni": DetectCNICommand.self
        case "agent": AgentCommand.self
        case "incidents": IncidentsCommand.self
        case "explain": ExplainCommand.self
        case "services": ServicesCommand.self
        case "dns": DNSCommand.self
        case "policy": PolicyCommand.self
        case "check": CheckCommand.self
        default: nil
        }
    }

    static func directlyParsed(_ arguments: [String]) -> (any ParsableCommand.Type)? {
        guard let name = arguments.first, let leaf = leafCommand(name) else { return nil }
        let special = ["-h", "--help", "-help", "help", "--version", "--generate-completion-script", "--experimental-dump-help"]
        return arguments.contains(where: special.contains) ? nil : leaf
    }

    public static func fail(_ message: String, status: Int32, arguments: [String] = []) -> Never {
        // One line, whatever a pod name or node file put in the message.
        FileHandleStandardError.write("netdoctor: \(Printable.line(message))\n")
        // With --output json, stdout still carries one document: a `| jq` pipeline sees the error.
        if wantsJSON(arguments) {
            let command = arguments.first { leafCommand($0) != nil || $0 == "lab" } ?? "netdoctor"
            let document: ConfigValue = .fields([
                ("schemaVersion", .int(1)), ("command", .string(command)),
                ("error", .fields([("message", .string(message)), ("exitStatus", .int(Int(status)))])), ("findings", .array([])),
            ])
            writeStandardOutput(bytes: JSONWriter.bytes(document, pretty: false) + [0x0A])
        }
        Glibc.exit(status)
    }

    /// `netdoctor --root /host trace a b` as `netdoctor trace a b --root /host`: operators put
    /// global flags first (kubectl does). Only the leading global options move, to just after
    /// the subcommand; nothing past it is touched.
    static func globalOptionsAfterSubcommand(_ arguments: [String]) -> [String] {
        let withValue: Set<String> = ["--root", "-o", "--output", "--runtime-endpoint"]
        let flags: Set<String> = ["--no-color"]
        var leading: [String] = []
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            let name = String(word.split(separator: "=", maxSplits: 1).first ?? "")
            if flags.contains(word) {
                leading.append(word); i += 1
            } else if withValue.contains(word), i + 1 < arguments.count {
                leading += [word, arguments[i + 1]]; i += 2
            } else if word.hasPrefix("--"), word.contains("="), withValue.contains(name) {
                leading.append(word); i += 1
            } else {
                break
            }
        }
        // lab's own subcommands do not all take them (lab exec passes its words on): left as typed.
        guard !leading.isEmpty, i < arguments.count, arguments[i] != "lab" else { return arguments }
        var rest = Array(arguments[i...])
        rest.insert(contentsOf: leading, at: 1)
        return rest
    }

    /// -o json, --output json or --output=json anywhere before a `--`.
    static func wantsJSON(_ arguments: [String]) -> Bool {
        let words = arguments.prefix { $0 != "--" }
        for (i, word) in words.enumerated() {
            if word == "--output=json" { return true }
            if word == "-o" || word == "--output", i + 1 < words.count, words[words.startIndex + i + 1] == "json" { return true }
        }
        return false
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}

/// stderr without Foundation.
enum FileHandleStandardError {
    static func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { writeAll(STDERR_FILENO, $0) }
    }
}

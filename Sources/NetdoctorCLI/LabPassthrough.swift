import ArgumentParser
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `netdoctor lab …`: the lab (a CNI plugin, a DNS server, a router advertiser, kube-proxy's rule
/// writer) is not in the binary the DaemonSet runs as root. It is its own executable,
/// netdoctor-lab, found as git and kubectl find their plugins: beside this binary, else on PATH
/// (NETDOCTOR_LAB names it outright). It is run with the same words, and is told which netdoctor
/// to start as the lab's agents (NETDOCTOR_BINARY).
struct LabPassthrough: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract:
            "A two-node pod network in network namespaces, wired by the real CNI plugins, to try every command on (netdoctor-lab, installed beside netdoctor)."
    )

    @Argument(parsing: .captureForPassthrough) var words: [String] = []

    func run() throws { Self.exec(words) }

    static let executableName = "netdoctor-lab"

    /// The lab's executable: NETDOCTOR_LAB, else beside this binary, else the first on PATH.
    static func locate() -> String? {
        if let given = environment("NETDOCTOR_LAB") { return given }
        let own = Executable.path
        let beside = String(own[..<(own.lastIndex(of: "/") ?? own.startIndex)]) + "/" + executableName
        if access(beside, X_OK) == 0 { return beside }
        for directory in (environment("PATH") ?? "").split(separator: ":") where access("\(directory)/\(executableName)", X_OK) == 0 {
            return "\(directory)/\(executableName)"
        }
        return nil
    }

    /// Replaces this process with `netdoctor-lab lab WORDS`; exit status 3 when it is not installed.
    static func exec(_ words: [String]) -> Never {
        guard let lab = locate() else {
            Netdoctor.fail(
                "lab: \(executableName) is not installed beside \(Executable.path) or on PATH (swift build --product \(executableName); or set NETDOCTOR_LAB)",
                status: CLIError.Kind.environment.rawValue, arguments: ["lab"] + words)
        }
        setenv("NETDOCTOR_BINARY", Executable.path, 1)
        let argv = [executableName, "lab"] + words
        var pointers = argv.map { strdup($0) } + [nil]
        execv(lab, &pointers)
        Netdoctor.fail(
            "lab: cannot run \(lab): \(String(cString: strerror(errno)))", status: CLIError.Kind.environment.rawValue,
            arguments: ["lab"] + words)
    }
}

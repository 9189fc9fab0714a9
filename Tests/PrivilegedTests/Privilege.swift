import ConfigFormats
import NodeFiles
import TestSupport
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Whether this process can build network namespaces: tried, not guessed from the uid.
enum Privilege {
    static let available: Bool = {
        let name = "ndtest-probe-\(getpid())"
        guard let added = ChildProcess.run("/usr/bin/ip", arguments: ["netns", "add", name], environment: []), added.status == 0 else {
            return false
        }
        _ = ChildProcess.run("/usr/bin/ip", arguments: ["netns", "del", name], environment: [])
        return NodeRoot("/").status("/usr/lib/cni/bridge")?.isExecutable == true
    }()

    /// On CI the privileged suite must run: a test that would skip fails instead.
    static let required: Bool = getenv("CI").map { String(cString: $0) == "true" } ?? false

    static var shouldRun: Bool { available || required }

    static func require() throws {
        try #require(available, "CI=true: the privileged suite must run here (root, ip netns, /usr/lib/cni), but cannot")
    }
}

/// Runs a command and returns its stdout, failing the test when it fails.
func sh(_ arguments: [String], timeout: Int32 = 30_000) throws -> String {
    let path = arguments[0].hasPrefix("/") ? arguments[0] : "/usr/bin/" + arguments[0]
    let exe = NodeRoot("/").status(path) != nil ? path : "/usr/sbin/" + arguments[0]
    guard
        let result = ChildProcess.run(
            exe, arguments: Array(arguments.dropFirst()),
            environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: timeout)
    else {
        throw TestFailure("cannot run \(arguments.joined(separator: " "))")
    }
    guard result.status == 0 else {
        throw TestFailure("\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.errorText)\(result.outputText)")
    }
    return result.outputText
}

/// Every privileged test, one at a time: the lab is one per machine.
@Suite("Privileged", .serialized, .enabled(if: Privilege.shouldRun))
struct PrivilegedSuite {}

/// A lab pod as its runtime made it (from `lab status`): the name `ip netns` knows its
/// namespace by (containerd's cni-…) and its sandbox ID.
func labPod(_ name: String) throws -> (netns: String, sandboxID: String) {
    let status = try JSONParser.parse(bytes: try Binary.run(["lab", "status", "-o", "json"]).output)
    guard let pod = status["pods"]?.array?.first(where: { $0["name"]?.string == name }),
        let netns = pod["namespace"]?.string, let id = pod["sandboxID"]?.string
    else { throw TestFailure("lab status names no pod \(name)") }
    return (netns, id)
}

import AgentClient
import ConfigFormats
import NodeFiles
import Session

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The shared bearer token: from a file (a mounted Secret), trimmed of surrounding whitespace.
/// One policy for the agent that checks it and the commands that send it: at least 16 visible
/// ASCII characters, a path relative to the working directory, a warning when others may read it.
enum AgentToken {
    static let environmentName = "NETDOCTOR_TOKEN_FILE"

    /// The file named, else NETDOCTOR_TOKEN_FILE's; nil when neither is set.
    static func path(_ option: String?) -> String? { option ?? environment(environmentName) }

    static func read(_ option: String?, doing what: String) throws(SessionError) -> [UInt8] {
        try readChecked(option, doing: what).token
    }

    /// The token, and what is wrong with how it is kept (a file others may read). A path is the
    /// operator's: relative to the working directory, not to the node's root.
    static func readChecked(_ option: String?, doing what: String) throws(SessionError) -> (token: [UInt8], warnings: [String]) {
        guard let given = path(option) else {
            throw SessionError("\(what): a token file is required (--token-file or \(environmentName))")
        }
        let path = absolute(given)
        let bytes: [UInt8]
        do {
            bytes = try NodeRoot("/").read(path, limit: 4096)
        } catch {
            throw SessionError("\(what): cannot read the token file: \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SessionError("\(what): the token in \(given) is not UTF-8 text")
        }
        let token = Array(text.trimmingWhitespace.utf8)
        // What a client can send in an Authorization header: visible ASCII (RFC 6750's token68 and more).
        guard token.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw SessionError("\(what): the token in \(given) holds spaces, control characters or non-ASCII bytes no client can send")
        }
        guard token.count >= 16 else { throw SessionError("\(what): the token in \(given) is shorter than 16 characters") }
        var warnings: [String] = []
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & 0o077 != 0 {
            warnings.append("the token file \(given) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))): chmod 600 it")
        }
        return (token, warnings)
    }

    /// An operator's path, made absolute from the working directory.
    static func absolute(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let directory = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return directory == "/" ? "/" + path : directory + "/" + path
    }
}

extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

/// One GET to a node's agent as a command asks it (incidents, check --node): the token from
/// --token-file or NETDOCTOR_TOKEN_FILE, TLS from NETDOCTOR_TLS_CA, and no answer as the
/// contract's environment failure (exit 3) naming the agent.
func askAgent(host: String, port: Int, path: String, tokenFile: String?, doing: String) throws -> ConfigValue {
    let token = try AgentToken.read(tokenFile, doing: doing)
    let settings = AgentClientSettings(token: token, caPath: environment("NETDOCTOR_TLS_CA"), serverName: nil)
    do {
        return try AgentClient(host: host, port: port, settings: settings).call("GET", path)
    } catch {
        throw CLIError(.environment, "\(doing): the agent at \(host):\(port) did not answer: \(error)")
    }
}

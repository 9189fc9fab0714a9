#if canImport(Glibc)
    @preconcurrency import Glibc
#endif
import NodeFiles

/// A throw-away node file tree for tests: files written where a node keeps them, removed on deinit.
public final class NodeTree {
    public let path: String
    public var root: NodeRoot { NodeRoot(path) }

    public init() {
        var template = Array("/tmp/netdoctor-node-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { Self.removeTree(path) }

    /// Writes a file at a node path, creating its directories.
    @discardableResult
    public func write(_ nodePath: String, _ text: String, mode: mode_t = 0o644) -> NodeTree {
        write(nodePath, bytes: Array(text.utf8), mode: mode)
    }

    @discardableResult
    public func write(_ nodePath: String, bytes: [UInt8], mode: mode_t = 0o644) -> NodeTree {
        precondition(FileTree.write(path + NodeRoot.normalize(nodePath), bytes: bytes, mode: mode), "cannot write \(nodePath)")
        return self
    }

    /// Empty executables standing for plugin binaries.
    @discardableResult
    public func plugins(_ names: [String], in dir: String = "/opt/cni/bin") -> NodeTree {
        for name in names { write(NodeRoot.join(dir, name), "#!/bin/sh\nexit 0\n", mode: 0o755) }
        return self
    }

    @discardableResult
    public func directory(_ nodePath: String) -> NodeTree {
        FileTree.makeDirectories(path + NodeRoot.normalize(nodePath))
        return self
    }

    @discardableResult
    public func symlink(_ nodePath: String, to target: String) -> NodeTree {
        let host = path + NodeRoot.normalize(nodePath)
        FileTree.makeDirectories(String(host[..<host.lastIndex(of: "/")!]))
        Glibc.symlink(target, host)
        return self
    }

    public func chmod(_ nodePath: String, _ mode: mode_t) {
        Glibc.chmod(path + NodeRoot.normalize(nodePath), mode)
    }

    public static func removeTree(_ host: String) { FileTree.remove(host) }
}

/// Reads a file of the repository or the shared corpus.
public enum Repository {
    /// The repository's root, from this file's path.
    public static let root: String = {
        var parts = #filePath.split(separator: "/").map(String.init)
        while let last = parts.last, last != "Tests" { parts.removeLast() }
        parts.removeLast()
        return "/" + parts.joined(separator: "/")
    }()

    /// `../shared/corpus` beside the repository, or NETDOCTOR_CORPUS.
    public static var corpus: String {
        if let env = getenv("NETDOCTOR_CORPUS") { return String(cString: env) }
        return root + "/../shared/corpus"
    }

    public static func read(_ hostPath: String) -> [UInt8]? {
        try? NodeRoot("/").read(hostPath, limit: 64 << 20)
    }
}

/// The built binary, run as a user would run it.
public enum Binary {
    public static let path: String = {
        for candidate in [Repository.root + "/.build/debug/netdoctor", Repository.root + "/.build/release/netdoctor"]
        where NodeRoot("/").status(candidate)?.isExecutable == true {
            return candidate
        }
        return Repository.root + "/.build/debug/netdoctor"
    }()

    public static func run(_ arguments: [String], environment: [String] = [], timeout: Int32 = 20_000) throws -> ChildProcess.Result {
        guard
            let result = ChildProcess.run(
                path, arguments: arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] + environment,
                timeoutMilliseconds: timeout)
        else { throw TestFailure("cannot run \(path)") }
        return result
    }
}

/// A failure of the test's own machinery.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

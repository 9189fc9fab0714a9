#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Why a node file could not be read, in words an operator can act on.
public struct NodeFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case notFound
        case permissionDenied
        case isDirectory
        case notRegularFile
        case tooLarge(size: Int, limit: Int)
        case symlinkLoop
        case system(errno: Int32)
    }

    /// The path as named on the node (without the --root prefix).
    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    init(path: String, errno code: Int32) {
        switch code {
        case ENOENT, ENOTDIR: self.init(path: path, reason: .notFound)
        case EACCES, EPERM: self.init(path: path, reason: .permissionDenied)
        case ELOOP: self.init(path: path, reason: .symlinkLoop)
        case EISDIR: self.init(path: path, reason: .isDirectory)
        default: self.init(path: path, reason: .system(errno: code))
        }
    }

    public var description: String {
        switch reason {
        case .notFound: "\(path): no such file"
        case .permissionDenied: "\(path): permission denied (run as root, or grant read access)"
        case .isDirectory: "\(path): is a directory, not a file"
        case .notRegularFile: "\(path): not a regular file"
        case .tooLarge(let size, let limit): "\(path): \(size) bytes, larger than the \(limit / 1024) KiB a configuration file may be"
        case .symlinkLoop: "\(path): too many levels of symbolic links"
        case .system(let code): "\(path): \(String(cString: strerror(code)))"
        }
    }
}

import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// The node's file system as seen from here: `/` on the node itself, or the node's root mounted
/// elsewhere (`/host` in a privileged pod). Paths go in as the node names them; absolute
/// symbolic links are followed inside the root, as they would resolve on the node.
public struct NodeRoot: Sendable, Equatable {
    /// Where the node's `/` is on this machine, without a trailing slash ("" for `/`).
    public let prefix: String

    /// The largest configuration file netdoctor reads; real ones are a few KiB.
    public static let fileSizeLimit = 1 << 20

    public init(_ path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        prefix = p == "/" ? "" : p
    }

    public var displayPath: String { prefix.isEmpty ? "/" : prefix }

    /// Whether the root itself exists and is a directory.
    public var exists: Bool {
        var st = stat()
        return stat(displayPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// A node path made absolute and normalised ("etc//cni/" → "/etc/cni").
    public static func normalize(_ nodePath: String) -> String {
        var parts: [Substring] = []
        for part in nodePath.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { _ = parts.popLast(); continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Joins a node directory and a name.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The path on this machine where a node path lives after following symlinks inside the root.
    public func resolve(_ nodePath: String) throws(NodeFileError) -> String {
        var pending = Self.normalize(nodePath).split(separator: "/").map(String.init)
        var resolved: [String] = []
        var links = 0
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let candidate = prefix + "/" + (resolved + [part]).joined(separator: "/")
            var st = stat()
            if lstat(candidate, &st) != 0 {
                if errno == ENOENT || errno == ENOTDIR {
                    // The rest cannot exist; keep the name so the caller reports the right path.
                    resolved.append(part)
                    resolved.append(contentsOf: pending)
                    return prefix + "/" + resolved.joined(separator: "/")
                }
                throw NodeFileError(path: nodePath, errno: errno)
            }
            guard (st.st_mode & S_IFMT) == S_IFLNK else {
                resolved.append(part)
                continue
            }
            links += 1
            if links > 40 { throw NodeFileError(path: nodePath, reason: .symlinkLoop) }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(candidate, &buffer, buffer.count - 1)
            if n < 0 { throw NodeFileError(path: nodePath, errno: errno) }
            let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") { resolved = [] }
            pending = target.split(separator: "/").map(String.init) + pending
        }
        return prefix + "/" + resolved.joined(separator: "/")
    }

    /// What is at a node path, after following symlinks; nil when nothing is.
    public func status(_ nodePath: String) -> FileStatus? {
        guard let host = try? resolve(nodePath) else { return nil }
        var st = stat()
        guard stat(host.isEmpty ? "/" : host, &st) == 0 else { return nil }
        return FileStatus(st)
    }

    /// The whole content of a regular file, refusing directories, devices, FIFOs and files
    /// over `limit` bytes (so a stray binary or a log cannot stall or flood a reader).
    public func read(_ nodePath: String, limit: Int = NodeRoot.fileSizeLimit) throws(NodeFileError) -> [UInt8] {
        let host = try resolve(nodePath)
        var st = stat()
        if stat(host, &st) != 0 { throw NodeFileError(path: nodePath, errno: errno) }
        try Self.checkRegular(st, nodePath: nodePath, limit: limit)
        let fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 { throw NodeFileError(path: nodePath, errno: errno) }
        defer { close(fd) }
        return try Self.readAll(fd, nodePath: nodePath, limit: limit)
    }

    /// The files `names` of one directory, each as `read` reads it: the directory's path
    /// resolved once and each file opened relative to it, a file that is a link resolved inside
    /// the root as `read` does (libcni's cache of a hundred pods is two hundred files in one place).
    public func readEach(
        _ nodeDirectory: String, names: [String], limit: Int = NodeRoot.fileSizeLimit
    ) -> [(nodePath: String, content: Result<[UInt8], NodeFileError>)] {
        let directory = Self.normalize(nodeDirectory)
        let dirfd = (try? resolve(directory)).map { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } ?? -1
        defer { if dirfd >= 0 { close(dirfd) } }
        return names.map { name in
            let nodePath = Self.join(directory, name)
            guard dirfd >= 0, !name.contains("/") else {
                return (nodePath, Result { () throws(NodeFileError) in try read(nodePath, limit: limit) })
            }
            let fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            // A link (ELOOP under O_NOFOLLOW) is followed inside the root.
            if fd < 0, errno == ELOOP { return (nodePath, Result { () throws(NodeFileError) in try read(nodePath, limit: limit) }) }
            if fd < 0 { return (nodePath, .failure(NodeFileError(path: nodePath, errno: errno))) }
            defer { close(fd) }
            return (
                nodePath,
                Result { () throws(NodeFileError) in
                    var st = stat()
                    if fstat(fd, &st) != 0 { throw NodeFileError(path: nodePath, errno: errno) }
                    try Self.checkRegular(st, nodePath: nodePath, limit: limit)
                    return try Self.readAll(fd, nodePath: nodePath, limit: limit)
                }
            )
        }
    }

    /// The last `limit` bytes of a regular file of any size (a log), from the start of a line:
    /// the part of a line cut by the limit is left out.
    public func readTail(_ nodePath: String, limit: Int) throws(NodeFileError) -> ArraySlice<UInt8> {
        let host = try resolve(nodePath)
        let fd = open(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 { throw NodeFileError(path: nodePath, errno: errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw NodeFileError(path: nodePath, errno: errno) }
        try Self.checkRegular(st, nodePath: nodePath, limit: Int.max)
        let start = max(0, Int(st.st_size) - limit)
        if start > 0, lseek(fd, off_t(start), SEEK_SET) < 0 { throw NodeFileError(path: nodePath, errno: errno) }
        let bytes = try Self.readAll(fd, nodePath: nodePath, limit: limit + (64 << 10))
        guard start > 0, let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else { return bytes[...] }
        return bytes[(newline + 1)...]
    }

    /// A regular file of at most `limit` bytes, or why not.
    static func checkRegular(_ st: stat, nodePath: String, limit: Int) throws(NodeFileError) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw NodeFileError(path: nodePath, reason: .isDirectory)
        default: throw NodeFileError(path: nodePath, reason: .notRegularFile)
        }
        if Int(st.st_size) > limit { throw NodeFileError(path: nodePath, reason: .tooLarge(size: Int(st.st_size), limit: limit)) }
    }

    /// Everything `fd` reads, to EOF rather than trusting st_size (/proc and /sys files report 0).
    static func readAll(_ fd: Int32, nodePath: String, limit: Int) throws(NodeFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = retryingOnInterrupt { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n < 0 { throw NodeFileError(path: nodePath, errno: errno) }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
            if bytes.count > limit { throw NodeFileError(path: nodePath, reason: .tooLarge(size: bytes.count, limit: limit)) }
        }
        return bytes
    }

    public func readText(_ nodePath: String, limit: Int = NodeRoot.fileSizeLimit) throws(NodeFileError) -> String {
        String(decoding: try read(nodePath, limit: limit), as: UTF8.self)
    }

    /// The entries of a node directory (not recursive), sorted byte-wise as Go's sort.Strings
    /// sorts them; a missing directory is an empty list, as for libcni. `withStatus: false`
    /// leaves `status` nil (no stat per entry: for a caller that reads only a few by name).
    public func list(_ nodeDirectory: String, withStatus: Bool = true) throws(NodeFileError) -> [DirectoryEntry] {
        let host = try resolve(nodeDirectory)
        guard let dir = opendir(host) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw NodeFileError(path: nodeDirectory, errno: errno)
        }
        defer { closedir(dir) }
        var entries: [DirectoryEntry] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let nodePath = Self.join(Self.normalize(nodeDirectory), name)
            entries.append(DirectoryEntry(name: name, nodePath: nodePath, status: withStatus ? status(nodePath) : nil))
        }
        return entries.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }
}

/// The parts of stat(2) netdoctor looks at.
public struct FileStatus: Sendable, Equatable {
    public var isRegularFile: Bool
    public var isDirectory: Bool
    public var size: Int
    public var mode: UInt32

    init(_ st: stat) {
        isRegularFile = (st.st_mode & S_IFMT) == S_IFREG
        isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        size = Int(st.st_size)
        mode = UInt32(st.st_mode)
    }

    /// Any execute bit: what a root runtime needs to run a plugin.
    public var isExecutable: Bool { mode & 0o111 != 0 }
}

public struct DirectoryEntry: Sendable, Equatable {
    public var name: String
    /// The entry's path as named on the node.
    public var nodePath: String
    /// nil for a dangling symlink or an entry that vanished.
    public var status: FileStatus?
}

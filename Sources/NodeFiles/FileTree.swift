import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Writing and removing files on this machine: for the lab's node trees and for tests. netdoctor
/// never writes to a node's files.
public enum FileTree {
    /// Creates every missing directory of `path`.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            mkdir(current, mode)
        }
    }

    /// Writes a whole file, creating its directory; false on failure (errno set).
    @discardableResult
    public static func write(_ path: String, bytes: [UInt8], mode: mode_t = 0o644) -> Bool {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex { makeDirectories(String(path[..<slash])) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard bytes.withUnsafeBytes({ writeAll(fd, $0) }) == 0 else { return false }
        fchmod(fd, mode)
        return true
    }

    /// A hard link when source and target share a file system, else a copy.
    @discardableResult
    public static func linkOrCopy(_ source: String, to target: String) -> Bool {
        unlink(target)
        if link(source, target) == 0 { return true }
        guard let bytes = try? NodeRoot("/").read(source, limit: 256 << 20) else { return false }
        var st = stat()
        stat(source, &st)
        return write(target, bytes: bytes, mode: st.st_mode & 0o7777)
    }

    /// Removes a file or a directory tree (without following symlinks out of it).
    public static func remove(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { unlink(path); return }
        chmod(path, 0o755)
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name != "." && name != ".." { remove(path + "/" + name) }
            }
            closedir(dir)
        }
        rmdir(path)
    }
}

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A file read through the kernel's own path walk, to its end: procfs files (their size says 0)
/// and /proc/PID/root paths (a magic link into the process's mount namespace, which NodeRoot's
/// careful walk, symlinks resolved under the root, would turn into this process's own `/`).
public enum KernelFile {
    /// The bytes, or nil when the file cannot be opened or read, or holds more than `limit`.
    public static func bytes(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let n = retryingOnInterrupt { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n < 0 { return nil }
            if n == 0 { return bytes }
            bytes += buffer[..<n]
        }
        return nil
    }
}

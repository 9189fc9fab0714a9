#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// This process's own binary: what the lab starts again in its namespaces (servers, agents,
/// relays), as /proc/self/exe names it (argv[0] when that cannot be read).
public enum Executable {
    public static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }
}

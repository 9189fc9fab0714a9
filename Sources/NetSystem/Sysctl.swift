#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// Reads /proc/sys/net values. The kernel serves them for the namespace of the thread that opens
/// the file, so call this inside `NamespaceThread.run(in:)` for another namespace.
public enum Sysctl {
    /// A value such as "net.ipv4.ip_forward" or "net.ipv4.conf.eth0.rp_filter"; nil when absent.
    public static func read(_ name: String) -> String? {
        readFile("/proc/sys/" + name.split(separator: ".").joined(separator: "/"))
    }

    /// A small kernel file's value (a sysctl, a sysfs attribute such as a bridge port's
    /// hairpin_mode), trailing whitespace removed; nil when absent.
    public static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = retryingOnInterrupt { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
        guard n > 0 else { return nil }
        var text = String(decoding: buffer[..<n], as: UTF8.self)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}

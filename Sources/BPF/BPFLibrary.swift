import CLibBPF

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A BPF operation that failed, in one line: what was asked, the kernel's errno, and libbpf's
/// own last message where it said one.
public struct BPFError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    /// The errno, where the kernel or libbpf gave one (EPERM: privileges; ENOSYS: no libbpf).
    public var code: Int32?

    public init(_ description: String, code: Int32? = nil) {
        self.description = description
        self.code = code
    }

    /// `what` failed with libbpf's negative return value (or errno), and libbpf's message.
    static func failed(_ what: String, returned: Int32) -> BPFError {
        let code = returned < 0 ? -returned : errno
        if let missing = BPFLibrary.unavailable { return BPFError("\(what): \(missing)", code: ENOSYS) }
        var text = "\(what): \(String(cString: strerror(code)))"
        if code == EPERM || code == EACCES { text += " (needs root, or CAP_BPF with CAP_PERFMON and CAP_NET_ADMIN)" }
        let said = String(cString: netdoctor_bpf_last_message())
        if !said.isEmpty, !text.contains(said) { text += "; libbpf: \(BPFText.printable(said, limit: 200))" }
        return BPFError(text, code: code)
    }
}

/// libbpf, opened on first use (Debian's libbpf1): nil when it is there, else why not.
public enum BPFLibrary {
    public static var unavailable: String? { netdoctor_bpf_load_error().map { String(cString: $0) } }
}

/// Names from the kernel or a BPF object are not trusted: what a report shows of them is
/// printable ASCII, bounded.
public enum BPFText {
    public static func printable(_ text: String, limit: Int = 64) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit).map { (0x20..<0x7F).contains($0.value) ? $0 : "?" }))
    }

    /// A fixed-size C char array (a program's or map's name), up to its first NUL.
    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            printable(String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self))
        }
    }

    static func hex<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            raw.map { byte in String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined()
        }
    }
}

import ConfigFormats

/// A pod sandbox whose network set-up failed, as the runtime or the kubelet logged it.
public struct SandboxFailure: Sendable, Equatable {
    /// Unix time (seconds) of the line; nil when the line does not say.
    public var time: Double?
    /// namespace/name where the line names the pod.
    public var pod: String?
    /// The sandbox's ID where the line gives it (one failure logged twice is counted once).
    public var sandbox: String?
    /// The CNI plugin's own words (`plugin type="bridge" failed (add): …`), sandbox IDs cut out.
    public var cause: String
    /// Where it was read: "journal: containerd.service", a log file's path.
    public var source: String
}

/// Reads sandbox network failures out of log lines as each writer words them (the texts are
/// the same in every release: containerd's sandbox_run.go since 1.6, libcni's "plugin %s failed
/// (add)", kubelet's kuberuntime_sandbox.go, CRI-O's sandbox_network.go):
///   containerd  level=error msg="RunPodSandbox for &PodSandboxMetadata{Name:p,Uid:u,Namespace:n,Attempt:0,} failed, error"
///               error="failed to setup network for sandbox \"ID\": plugin type=\"bridge\" failed (add): …"
///               (containerd 2.2+: `RunPodSandbox for name:"p"  uid:"u"  namespace:"n" failed, error`)
///   kubelet     "Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"ID\": …" pod="n/p"
///   CRI-O       failed to create pod network sandbox k8s_p_n_uid_0(ID): error adding pod n_p to CNI network "net": …
/// Pure: lines in, failures out; nothing here trusts a line to be short, printable or whole.
public enum SandboxLog {
    static let containerdCause = "failed to setup network for sandbox "
    static let crioCause = "failed to create pod network sandbox "
    /// A line longer than this is cut before it is read (a 1 GiB line must not be copied around).
    static let lineLimit = 16 << 10

    /// The failure one line records; nil for every other line.
    public static func failure(in line: Substring, time: Double?, source: String) -> SandboxFailure? {
        let line = line.prefix(lineLimit)
        guard line.contains("failed to setup network for sandbox") || line.contains("failed to create pod network sandbox") else {
            return nil
        }
        // kubelet logs one failure four times (the CRI client, the sandbox, the manager, the pod
        // worker): only the sandbox's line, which names the pod, is read.
        let kubeletEchoes = ["\"RunPodSandbox from runtime service failed\"", "\"CreatePodSandbox for pod failed\"", "\"Error syncing pod"]
        guard !kubeletEchoes.contains(where: { line.contains($0) }) else { return nil }
        let text = unescaped(String(line))
        guard let cause = cause(in: text) else { return nil }
        return SandboxFailure(
            time: time ?? logfmtTime(text), pod: pod(in: text), sandbox: cause.sandbox, cause: Printable.line(withoutIDs(cause.text)),
            source: source)
    }

    /// What follows the sandbox's ID, and the ID.
    static func cause(in text: String) -> (text: String, sandbox: String?)? {
        if let range = text.range(of: containerdCause) {
            var rest = text[range.upperBound...]
            var sandbox: String? = nil
            if rest.hasPrefix("\"") {
                rest = rest.dropFirst()
                let id = rest.prefix { $0 != "\"" }
                sandbox = id.isEmpty ? nil : String(id)
                rest = rest.dropFirst(id.count + 1)
            }
            if rest.hasPrefix(": ") { rest = rest.dropFirst(2) }
            return (trimmedCause(rest), sandbox)
        }
        if let range = text.range(of: crioCause) {
            let rest = text[range.upperBound...]
            // k8s_p_n_uid_0(ID): error adding pod n_p to CNI network "net": CAUSE
            let sandbox = rest.split(separator: "(", maxSplits: 1).dropFirst().first?.prefix { $0 != ")" }
            guard let colon = rest.range(of: "): ") else { return nil }
            var cause = rest[colon.upperBound...]
            if cause.hasPrefix("error adding pod "), let network = cause.range(of: "\": ") { cause = cause[network.upperBound...] }
            return (trimmedCause(cause), sandbox.map(String.init))
        }
        return nil
    }

    /// The cause up to the end of its quoted value (logfmt's `error="…"` or klog's `err="…"`).
    static func trimmedCause(_ rest: Substring) -> String {
        var end = rest.endIndex
        for marker in ["\" pod=\"", "\" podUID=", "\"\n"] {
            if let found = rest.range(of: marker), found.lowerBound < end { end = found.lowerBound }
        }
        var cause = rest[..<end]
        while cause.last == "\"" || cause.last == " " { cause = cause.dropLast() }
        return String(cause)
    }

    /// `pod="n/p"` (kubelet), `Name:p,…,Namespace:n` (containerd ≤ 2.1), `name:"p" … namespace:"n"`
    /// (containerd 2.2+), `error adding pod n_p` (CRI-O: the name is ambiguous there; said as written).
    static func pod(in text: String) -> String? {
        if let value = quoted(after: "pod=\"", in: text) { return Printable.line(value) }
        if let name = field("Name:", in: text), let namespace = field("Namespace:", in: text) {
            return Printable.line("\(namespace)/\(name)")
        }
        if let name = quoted(after: "name:\"", in: text), let namespace = quoted(after: "namespace:\"", in: text) {
            return Printable.line("\(namespace)/\(name)")
        }
        if let range = text.range(of: "error adding pod ") {
            return Printable.line(String(text[range.upperBound...].prefix { $0 != " " }))
        }
        return nil
    }

    static func quoted(after marker: String, in text: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        let value = text[range.upperBound...].prefix { $0 != "\"" }
        return value.isEmpty ? nil : String(value)
    }

    static func field(_ marker: String, in text: String) -> String? {
        guard let range = text.range(of: "{" + marker) ?? text.range(of: "," + marker) else { return nil }
        let value = text[range.upperBound...].prefix { $0 != "," && $0 != "}" }
        return value.isEmpty ? nil : String(value)
    }

    /// The cause with container IDs (64 hex digits) cut out, so that one cause met by many pods
    /// is one group ("10.244.1.4 has been allocated to <id>, duplicate allocation is not allowed").
    static func withoutIDs(_ text: String) -> String {
        var out = ""
        var run = ""
        func flush() {
            out += run.count == 64 ? "<id>" : run
            run = ""
        }
        for character in text {
            if character.isHexDigit && !character.isUppercase {
                run.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }

    /// logfmt and klog quote values with backslash escapes: `\"` becomes `"`, `\\` `\`.
    static func unescaped(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var escaping = false
        for character in text {
            if escaping {
                out.append(character == "n" ? " " : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                out.append(character)
            }
        }
        return out
    }

    /// logrus's `time="2024-11-21T07:25:50.590372815Z"` (CRI-O: a space for the T; an offset
    /// instead of Z), as Unix seconds.
    static func logfmtTime(_ text: String) -> Double? {
        guard let value = quoted(after: "time=\"", in: text) else { return nil }
        return RFC3339.seconds(value)
    }
}

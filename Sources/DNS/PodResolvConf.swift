import NetSystem
import NodeFiles

/// Where the runtime keeps a pod's resolv.conf on the node (the file it bind-mounts into the
/// pod's containers), by sandbox ID: containerd's CRI plugin under its root, CRI-O's userdata,
/// cri-dockerd's container directory. Paths are the node's; read under --root.
public enum PodResolvConf {
    /// containerd's root from its config (`root = …`), when not the default.
    public static func paths(sandbox id: String, containerdRoot: String = "/var/lib/containerd") -> [String] {
        [
            "\(containerdRoot)/io.containerd.grpc.v1.cri/sandboxes/\(id)/resolv.conf",
            "/var/run/containers/storage/overlay-containers/\(id)/userdata/resolv.conf",
            "/var/lib/containers/storage/overlay-containers/\(id)/userdata/resolv.conf",
            "/var/lib/docker/containers/\(id)/resolv.conf",
        ]
    }

    /// The first of those that exists: its path and text; or every path looked at, and why the
    /// one found could not be used (a resolv.conf is a small text file: 64 KiB at most, no NUL).
    public static func read(
        sandbox id: String, root: NodeRoot, containerdRoot: String = "/var/lib/containerd"
    )
        -> Result<(path: String, text: String), PodResolvConfError>
    {
        let candidates = paths(sandbox: id, containerdRoot: containerdRoot)
        for path in candidates where root.status(path) != nil {
            do {
                let bytes = try root.read(path, limit: 64 << 10)
                guard !bytes.contains(0) else { return .failure(PodResolvConfError("\(path) is not a text file (it holds NUL bytes)")) }
                return .success((path, String(decoding: bytes, as: UTF8.self)))
            } catch {
                return .failure(PodResolvConfError("\(path) cannot be read: \(error)"))
            }
        }
        return .failure(
            PodResolvConfError(
                "no resolv.conf for sandbox \(id.prefix(13)) under \(root.displayPath): looked at \(candidates.joined(separator: ", "))"))
    }
}

extension PodResolvConf {
    /// The file as the pod's sandbox process sees it (`/proc/PID/root/etc/resolv.conf` of the
    /// `pause` process whose network namespace is the pod's, `identity`): for runtimes whose copy
    /// is elsewhere. Only the sandbox's own process: any other process in the namespace may live
    /// in the host's mount namespace (a tool run with `ip netns exec` or `nsenter -n`) and see the
    /// node's file, which would be a confident wrong answer. The live /proc: the pod's processes
    /// are this host's.
    public static func fromProcess(in identity: NetNamespace.Identity, proc: String = "/proc") -> (path: String, text: String)? {
        let live = NodeRoot("/")
        guard let entries = try? live.list(proc, withStatus: false) else { return nil }
        for entry in entries.map(\.name) where entry.allSatisfy(\.isNumber) {
            guard NetNamespace.identity(of: "\(proc)/\(entry)/ns/net") == identity,
                (try? live.readText("\(proc)/\(entry)/comm", limit: 64))?.split(separator: "\n").first == "pause"
            else { continue }
            let path = "\(proc)/\(entry)/root/etc/resolv.conf"
            if let bytes = KernelFile.bytes(path, limit: 64 << 10), !bytes.contains(0) {
                return (path, String(decoding: bytes, as: UTF8.self))
            }
        }
        return nil
    }
}

public struct PodResolvConfError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

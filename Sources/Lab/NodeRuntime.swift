import CRI
import NodeFiles
import RuntimeModel

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A lab node's container runtime: Debian's containerd (and runc), one per node, in the node's
/// network namespace and in a mount namespace of its own where the node tree's directories are
/// bound over the usual paths. So it reads the node's config.toml and conf dir, calls the CNI
/// plugins from the node's bin dir, writes libcni's cache and its sandboxes' files into the node
/// tree, and listens on the node's /run/containerd/containerd.sock, as on a real node. Pod
/// namespaces are the one thing it shares: they appear in the host's /run/netns.
struct NodeRuntime {
    let plan: LabPlan
    let node: LabPlan.Node

    /// The node paths the runtime gets from the node tree.
    static let boundPaths = [
        "etc/containerd", "etc/cni/net.d", "opt/cni/bin", "var/lib/cni", "var/lib/containerd",
        "run/containerd", "var/log/pods",
    ]

    var root: String { plan.nodeRoot(node) }
    /// The socket as the node names it, and where the host sees it.
    var endpoint: RuntimeEndpoint {
        RuntimeEndpoint(named: "unix:///run/containerd/containerd.sock", socketPath: root + "/run/containerd/containerd.sock")
    }
    var logPath: String { LabPlan.stateDirectory + "/containerd-\(node.name).log" }

    /// containerd's config: the CRI plugin with the lab's sandbox image, cgroupfs (no systemd
    /// here), and restrict_oom_score_adj (root in this kind of VM lacks CAP_SYS_RESOURCE, so runc
    /// could not raise the sandbox's oom_score_adj).
    var configuration: String {
        """
        version = 2
        root = "/var/lib/containerd"
        state = "/run/containerd"
        disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                            "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
        [grpc]
          address = "/run/containerd/containerd.sock"
        [plugins."io.containerd.grpc.v1.cri"]
          sandbox_image = "\(PauseImage.name)"
          restrict_oom_score_adj = true
          [plugins."io.containerd.grpc.v1.cri".containerd]
            snapshotter = "overlayfs"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
            runtime_type = "io.containerd.runc.v2"
            [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
              SystemdCgroup = false
          [plugins."io.containerd.grpc.v1.cri".cni]
            bin_dir = "/opt/cni/bin"
            conf_dir = "/etc/cni/net.d"
            max_conf_num = 1

        """
    }

    /// The script that makes the runtime's mount namespace and becomes containerd. Every mount
    /// but /run/netns is made a slave first, so nothing bound here reaches the host (on hosts
    /// where / is shared, as under systemd), while the pod namespaces containerd mounts under
    /// /run/netns do (`ip netns add` made it a shared mount). /sys stays the host's: a sysfs
    /// mounted over it would hide the cgroup hierarchy runc needs.
    var startScript: String {
        let binds = Self.boundPaths.map { "mkdir -p '\(root)/\($0)' '/\($0)'; mount --bind '\(root)/\($0)' '/\($0)'" }
        return """
            set -e
            for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
              case "$m" in /run/netns|/run/netns/*) ;; *) mount --make-slave "$m" 2>/dev/null || true ;; esac
            done
            \(binds.joined(separator: "\n"))
            exec containerd --config /etc/containerd/config.toml
            """
    }

    /// Host directories that must exist as mount points and do not (with their missing
    /// parents, outermost first): the start script makes them, down removes them, innermost first.
    func missingMountPoints() -> [String] {
        var missing: [String] = []
        for path in Self.boundPaths {
            var prefix = ""
            for component in path.split(separator: "/") {
                prefix += "/" + component
                if !LabFiles.exists(prefix) && !missing.contains(prefix) { missing.append(prefix) }
            }
        }
        return missing
    }

    /// Starts containerd; returns its pid once its socket answers CRI.
    func start() throws(LabError) -> Int32 {
        try LabFiles.write(root + "/etc/containerd/config.toml", configuration)
        for path in Self.boundPaths { FileTree.makeDirectories("\(root)/\(path)") }
        guard let nsenter = Shell.find("nsenter"), Shell.find("containerd") != nil, Shell.find("runc") != nil else {
            throw LabError("containerd, runc or nsenter is not installed (run scripts/setup)")
        }
        guard
            let pid = ChildProcess.spawnDetached(
                nsenter,
                arguments: [
                    "--net=/run/netns/\(node.namespace)", "unshare", "--mount",
                    "--propagation", "unchanged", "sh", "-c", startScript,
                ],
                environment: Shell.environment, log: logPath)
        else {
            throw LabError("cannot start containerd on \(node.name)")
        }
        for _ in 0..<250 {
            if (try? RuntimeClient.version(endpoint, budget: .seconds(1))) != nil { return pid }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { break }
            usleep(20_000)
        }
        throw LabError("containerd on \(node.name) did not answer on \(endpoint.socketPath) (see \(logPath))")
    }

    /// The mount namespace containerd runs in ("mnt:[inode]"): its shims share it, so `down`
    /// finds them by it even when containerd is gone.
    static func mountNamespace(of pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/\(pid)/ns/mnt", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }

    /// Every process in that mount namespace: containerd and its shims.
    static func processes(inMountNamespace namespace: String) -> [Int32] {
        ((try? NodeRoot("/").list("/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry.name), pid != getpid() else { return nil }
            return mountNamespace(of: pid) == namespace ? pid : nil
        }
    }

    /// RunPodSandbox for a pod, as the kubelet asks it; then its ID and namespace from the
    /// runtime's own status.
    func run(_ pod: LabPlan.Pod) throws(LabError) -> LabPodState {
        let request = RuntimeClient.SandboxRequest(
            name: pod.name, namespace: pod.namespace, uid: pod.uid,
            dnsServers: [LabPlan.clusterDNS], dnsSearches: LabPlan.dnsSearches(namespace: pod.namespace),
            labels: ["app": pod.name], cgroupParent: "/" + cgroupParent)
        let id: String
        do {
            id = try RuntimeClient.runPodSandbox(endpoint, request)
        } catch {
            throw LabError("RunPodSandbox \(pod.key) on \(node.name): \(error) (see \(logPath))")
        }
        let inventory = try? RuntimeClient.inventory(endpoint)
        guard let sandbox = inventory?.sandboxes.first(where: { $0.id == id }), let netns = sandbox.netnsPath else {
            throw LabError("\(node.name)'s containerd does not report \(pod.key)'s sandbox \(id.prefix(13)) and its namespace")
        }
        return LabPodState(sandboxID: id, netnsPath: netns)
    }

    /// The cgroup the node's pods go under, so that down can remove what runc leaves.
    var cgroupParent: String { node.namespace }

    /// Removes the node's cgroups in every hierarchy (v1 controllers, or the v2 root): what a
    /// sandbox killed without its runtime leaves, then the parent itself.
    func removeCgroups() {
        let base = "/sys/fs/cgroup"
        let hierarchies =
            [base] + (((try? NodeRoot("/").list(base)) ?? []).filter { $0.status?.isDirectory == true }.map { "\(base)/\($0.name)" })
        for hierarchy in hierarchies {
            let parent = "\(hierarchy)/\(cgroupParent)"
            guard LabFiles.exists(parent) else { continue }
            for child in (try? NodeRoot("/").list(parent)) ?? [] where child.status?.isDirectory == true {
                rmdir("\(parent)/\(child.name)")
            }
            rmdir(parent)
        }
    }

    /// StopPodSandbox and RemovePodSandbox: the runtime tears the pod's network down itself (CNI DEL).
    func remove(_ pod: LabPodState) {
        _ = try? RuntimeClient.removePodSandbox(endpoint, id: pod.sandboxID, budget: .seconds(10))
    }
}

/// A lab pod as its runtime made it.
public struct LabPodState: Sendable, Equatable {
    public var sandboxID: String
    /// As containerd names it: /var/run/netns/cni-….
    public var netnsPath: String
    /// The name `ip netns` knows it by.
    public var netnsName: String { String(netnsPath.split(separator: "/").last ?? Substring(netnsPath)) }
}

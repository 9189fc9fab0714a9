import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The sandbox ("pause") image, made at `lab up` from a tiny static program and imported into
/// each node's containerd with `ctr images import`, so the lab never pulls anything.
enum PauseImage {
    /// The name containerd's CRI plugin looks for (`sandbox_image` in the node's config.toml).
    static let name = "registry.k8s.io/pause:3.10"

    /// What the pause container does: hold the pod's namespaces, reap orphans, end on a signal.
    static let source = """
        #include <signal.h>
        #include <sys/wait.h>
        #include <unistd.h>
        static void stop(int s) { (void)s; _exit(0); }
        static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
        int main(void) {
            signal(SIGINT, stop); signal(SIGTERM, stop); signal(SIGCHLD, reap);
            for (;;) pause();
        }

        """

    /// Builds the image as an OCI layout archive in `directory`; returns the archive's path.
    static func build(in directory: String) throws(LabError) -> String {
        let work = directory + "/pause-image"
        FileTree.remove(work)
        FileTree.makeDirectories(work + "/rootfs")
        FileTree.makeDirectories(work + "/layout/blobs/sha256")
        try LabFiles.write(work + "/pause.c", source)
        guard let compiler = Shell.find("cc") ?? Shell.find("gcc") else {
            throw LabError("no C compiler for the pause image (run scripts/setup)")
        }
        try Shell.run([compiler, "-static", "-Os", "-s", "-o", work + "/rootfs/pause", work + "/pause.c"])
        try Shell.run([
            "tar", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0", "-C", work + "/rootfs", "-cf", work + "/layer.tar", "pause",
        ])
        let layer = try blob(work + "/layer.tar", into: work)
        let config = try blob(
            text: """
                {"architecture":"\(architecture)","os":"linux","config":{"Entrypoint":["/pause"]},\
                "rootfs":{"type":"layers","diff_ids":["sha256:\(layer.digest)"]}}
                """, named: "config.json", into: work)
        let manifest = try blob(
            text: """
                {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
                "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\(config.digest)","size":\(config.size)},\
                "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:\(layer.digest)","size":\(layer.size)}]}
                """, named: "manifest.json", into: work)
        try LabFiles.write(
            work + "/layout/index.json",
            """
            {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",\
            "digest":"sha256:\(manifest.digest)","size":\(manifest.size),"platform":{"architecture":"\(architecture)","os":"linux"},\
            "annotations":{"io.containerd.image.name":"\(name)","org.opencontainers.image.ref.name":"3.10"}}]}
            """)
        try LabFiles.write(work + "/layout/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")
        let archive = directory + "/pause-image.tar"
        try Shell.run(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", work + "/layout", "-cf", archive, "."])
        FileTree.remove(work)
        return archive
    }

    /// Imports the archive into the containerd listening on `socket` (its CRI namespace, k8s.io).
    static func importArchive(_ archive: String, socket: String) throws(LabError) {
        try Shell.run(["ctr", "--address", socket, "--namespace", "k8s.io", "images", "import", archive])
    }

    /// The OCI name of this machine's architecture.
    static var architecture: String {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64": return "arm64"
        default: return machine
        }
    }

    /// A file moved into the layout's blobs under its SHA-256.
    static func blob(_ path: String, into work: String) throws(LabError) -> (digest: String, size: Int) {
        let sum = try Shell.run(["sha256sum", path])
        guard let digest = sum.split(separator: " ").first.map(String.init), digest.count == 64,
            let size = NodeRoot("/").status(path)?.size
        else { throw LabError("cannot hash \(path)") }
        guard rename(path, "\(work)/layout/blobs/sha256/\(digest)") == 0 else { throw LabError("cannot move \(path) into the image") }
        return (digest, Int(size))
    }

    static func blob(text: String, named name: String, into work: String) throws(LabError) -> (digest: String, size: Int) {
        try LabFiles.write("\(work)/\(name)", text)
        return try blob("\(work)/\(name)", into: work)
    }
}

import Diagnosis

/// RUNTIME_CONFIG_SUSPICIOUS, built here only: a runtime setting that loads but breaks pods.
enum RuntimeConfigSuspicious {
    static func cgroupDriverMismatch(kubelet driver: String, systemdCgroup: Bool, configPath: String?) -> Finding {
        Finding(
            .runtimeConfigSuspicious, .warning,
            "The kubelet's cgroupDriver is \(driver), but containerd's runc uses SystemdCgroup = \(systemdCgroup): the two must agree.",
            hop: configPath, evidence: ["kubelet cgroupDriver: \(driver)", "containerd SystemdCgroup = \(systemdCgroup)"],
            remedy: "Use the systemd driver on both (cgroup v2 nodes), or cgroupfs on both.")
    }

    static func sandboxImageNotAReference(_ sandbox: String, path: String) -> Finding {
        Finding(
            .runtimeConfigSuspicious, .warning,
            "sandbox_image \"\(sandbox)\" in \(path) is not an image reference (an unrendered placeholder?): pod sandboxes cannot start.",
            hop: path, evidence: ["sandbox_image = \"\(sandbox)\""],
            remedy: "Set it to the pause image, e.g. registry.k8s.io/pause:3.10.")
    }
}

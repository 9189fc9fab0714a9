import Diagnosis

/// CNI_NO_CONFIG, built here only: no network config the runtime would load, or (a note) none
/// yet because containerd renders it from its conf_template once the node has a podCIDR.
enum NoConfig {
    static func nothingUsable(_ runtime: RuntimeSettings, _ why: String) -> Finding {
        let symptom =
            runtime.name == .crio
            ? "CRI-O reports \"No CNI configuration file in \(runtime.confDir)\""
            : "containerd reports NetworkReady=false: \"cni plugin not initialized\""
        return Finding(
            .cniNoConfig, .error, "No usable network config in \(runtime.confDir): \(why). The node stays NotReady.",
            hop: runtime.confDir, evidence: [symptom],
            remedy:
                "Install the CNI (its DaemonSet writes the config), or fix the files there; check that \(runtime.name == .crio ? "network_dir" : "conf_dir") is where the CNI writes."
        )
    }

    static func fromTemplate(_ template: String, configPath: String?) -> Finding {
        Finding(
            .cniNoConfig, .info, "containerd writes the CNI config itself from \(template) once the node has a podCIDR.",
            hop: configPath, evidence: ["conf_template = \"\(template)\""],
            remedy: "Make sure the node gets a podCIDR (kube-controller-manager --allocate-node-cidrs).")
    }
}

import ArgumentParser
import CNIDetection
import NodeFiles
import Pods

struct DetectCNICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-cni",
        abstract: "Which CNI config the runtime really loads, its chain, IPAM, MTU, encapsulation, and every problem.",
        discussion: """
            Reads, under --root, the container runtime's config (containerd config.toml v1-v3 with imports, \
            CRI-O crio.conf and crio.conf.d), the kubelet's unit, drop-ins, flags files and configuration, \
            and the CNI conf dir in libcni's byte order. Says which file wins and why, what containerd or \
            CRI-O will do with broken files, whether every plugin binary is present, and whether the pod \
            MTU fits the uplink (read from this namespace's default route, or --uplink-mtu). Asks the \
            runtime over CRI (read-only) which runtime answers on its endpoint, and checks its pods \
            against libcni's result cache.
            Exit status: 0 healthy, 1 a problem of severity error, 2 bad input, 3 not allowed.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Judge the pod MTU against this uplink MTU instead of the default route device's.", valueName: "bytes"))
    var uplinkMTU: Int?

    @Flag(help: "Do not run the active chain's plugins with CNI_COMMAND=VERSION to check their supported versions.")
    var noPluginQuery = false

    @Flag(help: "Run them also under a --root other than / (a tree you trust: its programs run as you).")
    var queryPlugins = false

    /// The plugins are programs of the tree: run on the live node (--root /) unless told not to,
    /// elsewhere (a support bundle, a mount) only when asked.
    func shouldQueryPlugins(_ root: NodeRoot) -> Bool {
        !noPluginQuery && (queryPlugins || root.prefix.isEmpty)
    }

    func validate() throws {
        if noPluginQuery && queryPlugins { throw ValidationError("--no-plugin-query and --query-plugins contradict each other") }
        if let mtu = uplinkMTU, !(68...65535).contains(mtu) {
            throw ValidationError("--uplink-mtu must be between 68 and 65535")
        }
    }

    func run() throws {
        let root = try global.requireRoot()
        var report = CNIDetector.detect(
            DetectionInput(
                root: root, kernel: KernelView.current(), uplinkMTU: uplinkMTU,
                queryPlugins: shouldQueryPlugins(root)))
        // The runtime over CRI: who answers, and what it and libcni's cache say of the pods.
        let pods = global.pods(root, kubelet: report.kubelet)
        report.runtimeAnswer = pods.runtime.answer
        report.findings += pods.nodeFindings
        global.emit(report)
    }
}

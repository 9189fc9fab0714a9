import ArgumentParser
import Diagnosis
import Session

struct DNSCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract:
            "A pod's DNS as the pod sees it: its resolv.conf, the queries its resolver sends for NAME, each nameserver's answers, and what is wrong.",
        discussion: """
            Reads the pod's resolv.conf where its runtime keeps it (containerd's CRI sandbox directory, \
            CRI-O's userdata, cri-dockerd's container directory) and the kubelet's clusterDNS, clusterDomain \
            and resolvConf; tells the dnsPolicy they imply; expands NAME through the search list as the \
            pod's resolver does (ndots decides the order) and sends every one of those queries, A and AAAA, \
            to every nameserver over UDP and TCP from the pod's own network namespace, all at once, with \
            netdoctor's own DNS codec (no dig, no resolver library). Then walks the answers as glibc's \
            resolver would. A nameserver that fails is looked up in kube-proxy's Service table (its \
            endpoints). NAME defaults to kubernetes.default, the API server's Service every cluster has. \
            Codes: DNS_SERVER_UNREACHABLE, DNS_UDP_BLOCKED, DNS_NO_ANSWER, DNS_NXDOMAIN, DNS_SERVER_ERROR, \
            DNS_SLOW, DNS_CONFIG_MISMATCH, DNS_CONFIG_INVALID, DNS_LOOP_RISK.
            Exit status: 0 the name resolves and nothing is wrong, 1 a problem found, 2 an unknown pod, a \
            name that is not a DNS name or a pod without a resolv.conf where its runtime keeps it, 3 \
            missing privileges.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The pod (NAME, NAMESPACE/NAME or IP).", valueName: "pod"))
    var pod: String

    @Argument(help: ArgumentHelp("The name to look up, as the pod's programs would give it (a trailing dot: absolute).", valueName: "name"))
    var name: String?

    @Option(
        help: ArgumentHelp(
            "How long each query waits for its answer, in milliseconds (default: the resolv.conf's timeout).", valueName: "ms"))
    var timeout: Int32?

    @Option(help: ArgumentHelp("An answer slower than this is DNS_SLOW, in milliseconds.", valueName: "ms"))
    var slow: Int = 500

    func validate() throws {
        if let timeout, !(50...30_000).contains(timeout) { throw ValidationError("--timeout must be between 50 and 30000 ms") }
        guard (1...30_000).contains(slow) else { throw ValidationError("--slow must be between 1 and 30000 ms") }
    }

    var podsNamed: [String]? { [pod] }
    var doing: String { "dns" }
    func report(_ session: NodeSession) throws -> any Report {
        try session.dns(pod: pod, name: name, timeoutMilliseconds: timeout, slowMilliseconds: Double(slow))
    }
}

import ArgumentParser
import Diagnosis
import Services
import Session

extension ProxyMode: ExpressibleByArgument {}

struct ServicesCommand: SessionCommand {
    static let configuration = CommandConfiguration(
        commandName: "services",
        abstract: "The node's Services as kube-proxy programmed them: frontends, endpoints and where they are, problems.",
        discussion: """
            Reads kube-proxy's own state on this node, no API server needed: its mode from its metrics port \
            (127.0.0.1:10249/proxyMode) when it answers, else from the kernel (nat KUBE-SERVICES, table ip \
            kube-proxy, link kube-ipvs0, Cilium's pinned service map); then the rules of that mode \
            (iptables-nft's tables read from nf_tables directly, else iptables-save; nft -j list table ip/ip6 \
            kube-proxy; /proc/net/ip_vs). Each Service port is shown with its cluster, \
            external and node-port frontends, its endpoints with the share of new connections each gets and \
            whether it is on this node (a pod, a bridge) or another (the route's gateway or tunnel), and what is \
            wrong: SERVICE_NO_ENDPOINTS, SERVICE_NO_LOCAL_ENDPOINTS, SERVICE_NOT_PROGRAMMED, \
            SERVICE_RULES_UNREADABLE. SERVICE names one: NAMESPACE/NAME[:PORT], NAME[:PORT] (any namespace), \
            CLUSTER-IP[:PORT], or NODE-IP:NODE-PORT. Cilium's replacement is detected and said, not read yet.
            Exit status: 0, 1 when the Service named has no endpoints or is in no rule, 2 a SERVICE that \
            is not a name or address, 3 missing privileges (the rules cannot be read).
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: ArgumentHelp(
            "A Service: NAMESPACE/NAME[:PORT], NAME[:PORT], CLUSTER-IP[:PORT] or NODE-IP:NODE-PORT; none: every Service.",
            valueName: "service"))
    var service: String?

    @Option(help: ArgumentHelp("Read this proxy mode's rules instead of asking kube-proxy and the kernel which.", valueName: "mode"))
    var proxyMode: ProxyMode?

    var podsNamed: [String]? { nil }
    var doing: String { "services" }

    func report(_ session: NodeSession) throws -> any Report {
        let query = try service.map { text in
            guard let query = ServiceQuery.parse(text) else {
                throw CLIError(
                    .badInput, "\(text) is not a Service: give NAMESPACE/NAME[:PORT], NAME[:PORT], CLUSTER-IP[:PORT] or NODE-IP:NODE-PORT")
            }
            return query
        }
        let report = session.services(query, mode: proxyMode)
        if report.reading.table == nil,
            report.reading.problems.contains(where: { $0.contains("Permission denied") || $0.contains("Operation not permitted") })
        {
            throw CLIError(
                .environment,
                "services: kube-proxy's rules cannot be read: \(report.reading.problems.joined(separator: "; ")) (run as root)")
        }
        return report
    }
}

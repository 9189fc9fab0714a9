import ArgumentParser
import ConfigFormats
import Diagnosis
import Lab
import NetAddress
import NetdoctorCLI
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension LabPlan.Topology: ExpressibleByArgument {}
extension LabPlan.Family: ExpressibleByArgument {}
extension LabFault: ExpressibleByArgument {}
extension LabServices.Mode: ExpressibleByArgument {}
extension LabServer.KubeProxyRelease: ExpressibleByArgument {}
extension LabPolicyEngine: ExpressibleByArgument {}

struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "A two-node pod network in network namespaces, wired by the real CNI plugins, to try every command on.",
        discussion: """
            `lab up` builds node1 and node2 (namespaces \(LabPlan.defaultPrefix)-node1/2, joined by an underlay link), \
            each with its own containerd (Debian's containerd and runc, its config, root, state and socket in the \
            node's file tree under \(LabPlan.stateDirectory)/NODE, in a mount namespace of its own), and asks \
            them over CRI, as a kubelet does, for pods pod-a and pod-b on node1 and pod-c on node2: containerd \
            makes each pod's namespace, runs the CNI reference plugins from \(Lab.pluginDirectory) and writes \
            libcni's cache itself. The pause image is built from a tiny static program and imported; nothing \
            is pulled. pod-a serves HTTP on port 80. `lab exec node1 -- netdoctor …` runs a command as if on \
            node1, `lab exec pod-a -- …` inside pod-a's namespace. `lab down` removes all of it. Needs root.
            """,
        subcommands: [
            Up.self, Down.self, Status.self, Break.self, Exec.self, Serve.self, RecordCRI.self, ProxyRules.self, CalicoPlugin.self,
            CiliumPlugin.self,
        ])

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up", abstract: "Build the lab (an existing one is removed first).")

        @OptionGroup var global: GlobalOptions

        @Option(
            help:
                "overlay: a bridge per node and VXLAN between nodes (flannel-like); routed: point-to-point veths and node routes (kindnet-like); calico: /32 pods behind proxy-ARP cali veths, per-pod host routes, per-block routes over vxlan.calico, and felix's policy chains; cilium: /32 pods behind lxc veths, cilium_host as the gateway, cilium_vxlan between nodes, and a stand-in of Cilium's BPF datapath keeping Cilium's maps."
        )
        var topology: LabPlan.Topology = .overlay

        @Option(
            help: ArgumentHelp(
                "The pods' address families: 4, dual (IPv4 and IPv6: host-local with a range per family, IPv6 routes between nodes, flannel-v6.1 beside flannel.1) or 6 (IPv6 only: the nodes have no IPv4 address either). Every topology; calico's policy engines are IPv4's.",
                valueName: "4|dual|6"))
        var family: LabPlan.Family = .ipv4

        @Flag(
            help:
                "Also run `netdoctor agent` on each node (port \(LabPlan.agentPort), a token in \(Lab.agentTokenPath)): cross-node traces then see both nodes."
        )
        var agents = false

        @Flag(
            help:
                "With --agents: the agents watch each other (agent --watch, every \(Lab.watchIntervalSeconds) s): break a path and the incident appears (netdoctor incidents)."
        )
        var watch = false

        @Option(
            help: ArgumentHelp(
                "More pods on node1 (pod-x1 …), up to \(LabPlan.maxExtraPods): a node with many pods, for benchmarks.", valueName: "n"))
        var extraPods = 0

        @Flag(
            help:
                "Also web-0 in the namespaces staging and prod on node1, as two StatefulSets would have them: reports name each namespace/web-0."
        )
        var sameNamePods = false

        @Option(
            help: ArgumentHelp(
                "Services on both nodes, with rules written as kube-proxy writes them in this mode (iptables or nftables): default/web, default/echo (UDP), default/empty (no endpoints), default/local (externalTrafficPolicy: Local).",
                valueName: "mode"))
        var proxy: LabServices.Mode?

        @Option(
            help: ArgumentHelp(
                "With --proxy: this many more Services of three endpoints each in the rules (benchmarks), up to 20000.", valueName: "n"))
        var extraServices = 0

        @Flag(
            name: .customLong("nodelocaldns"),
            help:
                "With --proxy iptables: NodeLocal DNSCache on each node (a link named nodelocaldns holding 169.254.20.10 and the kube-dns address, node-cache's NOTRACK and ACCEPT rules, a DNS server on the node answering there)."
        )
        var nodeLocalDNS = false

        @Option(
            help: ArgumentHelp(
                "With --topology calico: whose NetworkPolicy chains the nodes carry: calico (felix's iptables dataplane), calico-nftables (felix's nftables dataplane), kube-router.",
                valueName: "engine"))
        var policyEngine: LabPolicyEngine?

        @Option(
            help: ArgumentHelp(
                "With --proxy: the kube-proxy release whose /configz the stand-in serves: 1.33 (DetectLocal.ClusterCIDRs, as since 1.31) or 1.30 (a top-level ClusterCIDR).",
                valueName: "release"))
        var kubeProxyRelease: LabServer.KubeProxyRelease = .current

        @Option(
            help: ArgumentHelp(
                "With --topology cilium: whose map layouts the stand-in datapath keeps: 1.15 (cilium_ipcache, cilium_policy_NNNNN with counters, tc filters) or 1.18 (cilium_ipcache_v2, cilium_policy_v2_NNNNN and cilium_policystats, metrics with file and line, tcx links).",
                valueName: "1.15|1.18"))
        var ciliumRelease = "1.18"

        func validate() throws {
            if topology == .cilium, family == .ipv6 {
                throw ValidationError(
                    "--topology cilium needs IPv4 nodes (its tunnel endpoints are IPv4 addresses before 1.18; --family dual has IPv6 pods)")
            }
            if topology == .cilium, proxy != nil {
                throw ValidationError("--topology cilium has its Services in Cilium's load balancer (kube-proxy replaced): no --proxy")
            }
            guard let minor = ciliumMinor, LabPlan.ciliumReleases.contains(minor) else {
                throw ValidationError("--cilium-release is 1.15 or 1.18")
            }
            if watch, !agents { throw ValidationError("--watch goes with --agents") }
            if policyEngine != nil, topology != .calico { throw ValidationError("--policy-engine goes with --topology calico") }
            if family == .ipv6, policyEngine != nil {
                throw ValidationError(
                    "--policy-engine needs IPv4 pods (the lab's policy engines write IPv4 chains; --family dual has them)")
            }
            if family == .ipv6, proxy != nil {
                throw ValidationError("--proxy needs IPv4 pods (the lab's Services are IPv4; --family dual has them)")
            }
            if nodeLocalDNS, proxy != .iptables {
                throw ValidationError("--nodelocaldns goes with --proxy iptables (node-cache binds the kube-dns address in iptables mode)")
            }
            guard (0...LabPlan.maxExtraPods).contains(extraPods) else {
                throw ValidationError("--extra-pods must be between 0 and \(LabPlan.maxExtraPods)")
            }
            guard (0...20_000).contains(extraServices) else { throw ValidationError("--extra-services must be between 0 and 20000") }
            if extraServices > 0, proxy == nil, topology != .cilium {
                throw ValidationError("--extra-services goes with --proxy (or --topology cilium)")
            }
        }

        var ciliumMinor: Int? { ciliumRelease.hasPrefix("1.") ? Int(ciliumRelease.dropFirst(2)) : nil }

        func run() throws {
            var plan = LabPlan(topology: topology, family: family, extraPods: extraPods, sameNamePods: sameNamePods)
            plan.ciliumRelease = ciliumMinor ?? 18
            let lab = Lab(plan: plan)
            do {
                _ = try lab.up(
                    netdoctorPath: netdoctorBinary(), agents: agents, proxy: proxy, extraServices: extraServices,
                    nodeLocalDNS: nodeLocalDNS,
                    policyEngine: policyEngine ?? .calico, watch: watch, kubeProxyRelease: kubeProxyRelease)
            } catch {
                throw CLIError(.environment, "lab up: \(error)")
            }
            global.emit(LabStatusReport.current())
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "down", abstract: "Remove everything the lab made.")

        func run() throws {
            guard getuid() == 0 else { throw CLIError(.environment, "lab down: run as root") }
            if let (lab, state) = Lab.current() {
                lab.down(state: state)
            } else {
                Lab(plan: LabPlan(topology: .overlay)).down(state: nil)
            }
            let left = Lab.namespaces(prefix: LabPlan.defaultPrefix)
            if !left.isEmpty { throw CLIError(.environment, "lab down: namespaces left behind: \(left.joined(separator: ", "))") }
            writeStandardOutput("lab removed\n")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status", abstract: "Show what the lab has: nodes, pods, addresses, faults.")

        @OptionGroup var global: GlobalOptions

        func run() throws { global.emit(LabStatusReport.current()) }
    }

    struct Break: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "break",
            abstract: "Inject a fault: one per finding code.",
            discussion: "Faults:\n"
                + LabFault.allCases.map { "  \($0.rawValue.padding(toLength: 24)) \($0.summary)" }
                .joined(separator: "\n") + "\nWith --node node2 (the remote half, seen by node2's agent):\n"
                + LabFault.allCases.compactMap { fault in fault.node2Summary.map { "  \(fault.rawValue.padding(toLength: 24)) \($0)" } }
                .joined(separator: "\n") + "\n`lab up` again gives a healthy lab.")

        @Argument(help: "The fault, named by the finding code it causes.")
        var fault: LabFault

        @Option(help: "node2: inject the fault's node2 variant.")
        var node: String?

        @Option(
            help: ArgumentHelp(
                "The family the fault breaks, where it has an IPv6 half (default: IPv4, or IPv6 in an IPv6-only lab).", valueName: "4|6"))
        var family: IPFamily?

        func run() throws {
            guard let (lab, current) = Lab.current() else { throw CLIError(.environment, "lab break: no lab is up (netdoctor lab up)") }
            var state = current
            if let node, node != "node1", node != "node2" { throw CLIError(.badInput, "lab break: no node \(node) (node1 or node2)") }
            do {
                try lab.inject(fault, node: node, family: family, state: &state)
            } catch {
                throw CLIError(.environment, "lab break \(fault.rawValue): \(error)")
            }
            let summary = node == "node2" ? fault.node2Summary ?? "" : fault.summary
            let summary6 = node == "node2" ? fault.ipv6Node2Summary : fault.ipv6Summary
            writeStandardOutput("\(fault.rawValue): \(lab.family(for: fault, asked: family) == .ipv6 ? summary6 ?? summary : summary)\n")
        }
    }

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command as if on a lab node (in its namespace, with NETDOCTOR_ROOT at its file tree) or in a pod.",
            discussion: "Example: netdoctor lab exec node1 -- netdoctor trace pod-a pod-c; netdoctor lab exec pod-a -- ping -c1 10.244.1.3")

        @Argument(help: "node1, node2, or a pod (pod-a, pod-b, pod-c)")
        var node: String

        @Argument(parsing: .captureForPassthrough, help: "The command (a leading `netdoctor` runs this binary).")
        var command: [String] = []

        func run() throws {
            guard let (lab, state) = Lab.current() else { throw CLIError(.environment, "lab exec: no lab is up (netdoctor lab up)") }
            var words = command.first == "--" ? Array(command.dropFirst()) : command
            guard !words.isEmpty else { throw CLIError(.badInput, "lab exec: no command given") }
            if words[0] == "netdoctor" { words[0] = netdoctorBinary() }
            let argv: [String]
            if let plannedNode = lab.plan.node(node) {
                // The agents' token, so that a trace from one node can ask the other's agent.
                let token = access(Lab.agentTokenPath, R_OK) == 0 ? ["NETDOCTOR_TOKEN_FILE=\(Lab.agentTokenPath)"] : []
                argv =
                    ["ip", "netns", "exec", plannedNode.namespace, "env", "NETDOCTOR_ROOT=\(lab.plan.nodeRoot(plannedNode))"] + token
                    + words
            } else if let pod = state.pods[node] {
                argv = ["ip", "netns", "exec", pod.netnsName] + words
            } else {
                throw CLIError(
                    .badInput, "lab exec: no node or pod \(node) (node1, node2, \(lab.plan.pods.map(\.name).joined(separator: ", ")))")
            }
            let cArguments = argv.map { strdup($0) } + [nil]
            execvp("ip", cArguments)
            throw CLIError(.environment, "lab exec: cannot run ip: \(String(cString: strerror(errno)))")
        }
    }

    struct RecordCRI: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record-cri", abstract: "Write node1's containerd's CRI answers as bytes (test fixtures).", shouldDisplay: false)

        @Argument var directory: String

        func run() throws {
            guard let (lab, _) = Lab.current() else { throw CLIError(.environment, "lab record-cri: no lab is up (netdoctor lab up)") }
            do {
                writeStandardOutput(try lab.recordRuntimeAnswers(into: directory).joined(separator: "\n") + "\n")
            } catch {
                throw CLIError(.environment, "lab record-cri: \(error)")
            }
        }
    }

    struct CalicoPlugin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cni-calico", abstract: "The calico topology's CNI plugin (containerd runs it as `calico`).", shouldDisplay: false)

        func run() throws {
            let (status, output) = LabCalicoPlugin.main()
            _ = writeStandardOutput(output)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct CiliumPlugin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cni-cilium", abstract: "The cilium topology's CNI plugin (containerd runs it as `cilium-cni`).",
            shouldDisplay: false)

        @Option var mtu = LabPlan.ciliumMTU
        @Option var subnet4 = ""
        @Option var router4 = ""
        @Option var subnet6 = ""
        @Option var router6 = ""

        func run() throws {
            let node = LabCiliumPlugin.Node(subnet4: subnet4, subnet6: subnet6, router4: router4, router6: router6, mtu: mtu)
            let (status, output) = LabCalicoPlugin.main(style: .cilium(node))
            _ = writeStandardOutput(output)
            if status != 0 { throw ExitCode(status) }
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "The lab's HTTP server, or UDP echo (started by lab up).", shouldDisplay: false)

        @Option var port: UInt16 = 80
        @Flag var udp = false
        @Option(help: "Be kube-proxy's metrics listener on 127.0.0.1:10249, for this mode.") var kubeProxy: String?
        @Option var staleFlag = "/nonexistent"
        @Option var clusterCIDR = ""
        @Option var kubeProxyRelease: LabServer.KubeProxyRelease = .current
        @Option(help: "Be a DNS relay on port 53 that answers this many milliseconds late (lab break DNS_SLOW).") var slowDNS: Int?
        @Flag(help: "Be kube-network-policies' queue listener (NFQUEUE 100) in this namespace.") var nfqueue = false
        @Option(help: "Be an IPv6 router on this interface: a router advertisement every second.") var routerAdvertisements: String?
        @Option(help: "Be a stand-in of Hubble's Observer on this Unix socket, serving --hubble-flows.") var hubble: String?
        @Option(help: "With --hubble: a file of `hubble observe -o jsonpb` lines to serve.") var hubbleFlows = "/dev/null"
        @Option(help: "With --hubble: answer this many milliseconds late.") var hubbleDelay = 0
        @Option(help: "With --nfqueue: ADDRESS,in|out,proto/port+… (a pod a policy selects, and what it allows).") var queuePolicy:
            [String] = []

        func run() throws {
            if let routerAdvertisements { LabRouterAdvertiser.run(interface: routerAdvertisements) }
            if let hubble { LabHubble.serve(socket: hubble, flowsFile: hubbleFlows, delayMilliseconds: hubbleDelay) }
            if let kubeProxy {
                LabServer.kubeProxy(mode: kubeProxy, clusterCIDRs: clusterCIDR, staleFlag: staleFlag, release: kubeProxyRelease)
            }
            if let slowDNS { LabSlowDNS.run(delayMilliseconds: slowDNS) }
            if nfqueue { LabPolicyQueue.serve(decisions: queuePolicy) }
            udp ? LabServer.echo(port: port) : LabServer.run(port: port)
        }
    }

    struct ProxyRules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "proxy-rules", abstract: "kube-proxy's rules for the fixture Services (scripts/record-service-fixtures).",
            shouldDisplay: false)

        @Option var mode: LabServices.Mode = .iptables
        @Option(help: "Instead of the fixture: this many Services of --endpoints endpoints each (benchmarks, large-cluster mode).")
        var services: Int?
        @Option var endpoints = 3
        @Flag(help: "kube-proxy's large-cluster mode: no per-endpoint comments.") var largeCluster = false
        @Flag(help: "The fixture's IPv6 twin, as kube-proxy's IPv6 proxier writes it (ip6tables-restore input, table ip6 kube-proxy).")
        var ipv6 = false

        func run() throws {
            let ports = ipv6 ? LabServices.fixture6 : services.map { LabServices.many($0, endpoints: endpoints) } ?? LabServices.fixture
            let (cluster, serviceRange, nodeIP) =
                ipv6 ? ("fd00:10::/48", "fd00:172:30::/112", "fd00:192:168::2") : ("10.0.0.0/8", "172.30.0.0/16", "192.168.0.2")
            switch mode {
            case .iptables: writeStandardOutput(KubeProxyRules.iptables(ports, clusterCIDR: cluster, largeCluster: largeCluster))
            case .nftables:
                writeStandardOutput(KubeProxyRules.nftables(ports, clusterCIDR: cluster, serviceCIDR: serviceRange, nodeIPs: [nodeIP]))
            }
        }
    }
}

/// The netdoctor the lab starts as its agents and runs in `lab exec … -- netdoctor`: the one that
/// ran this lab (NETDOCTOR_BINARY), else the one installed beside it.
func netdoctorBinary() -> String {
    if let given = getenv("NETDOCTOR_BINARY").map({ String(cString: $0) }), !given.isEmpty { return given }
    let own = Executable.path
    return String(own[..<(own.lastIndex(of: "/") ?? own.startIndex)]) + "/netdoctor"
}

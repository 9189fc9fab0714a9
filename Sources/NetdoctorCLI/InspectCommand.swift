import ArgumentParser
import Inspection
import KernelState
import Netlink
import NetSystem
import Pods

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "A pod's (or the node's) network namespace as the kernel sees it.",
        discussion: """
        Reads the namespace over rtnetlink: interfaces (kind, MTU, state, addresses, bridge, veth peer \
        and the namespace it lives in), routes of every table, neighbours, the overlay forwarding \
        database, and the forwarding sysctls. For a pod, also its host-side veth and the bridge or \
        routes that serve it. Pods are found by NAME, NAMESPACE/NAME or IP: from the container \
        runtime over CRI when its socket answers (--runtime-endpoint, else the kubelet's), merged \
        with libcni's result cache under --root; from the cache alone otherwise, and the report says so.
        Exit status: 0, 1 when something on the pod's path is down, 2 unknown or ambiguous pod, \
        3 missing privileges or a namespace that is gone.
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A pod (NAME, NAMESPACE/NAME or IP), or `node`.", valueName: "target"))
    var target: String

    func run() throws {
        let root = try global.requireRoot()
        let directory = NamespaceDirectory(root: root)
        if target == "node" {
            do {
                global.emit(try Inspector.inspectNode(directory: directory))
            } catch {
                throw CLIError(kernelError: error, doing: "inspect \(target)")
            }
        }
        let pods = global.pods(root)
        let report: PodSourcedReport<InspectReport>
        do {
            let pod = try pods.find(target)
            report = PodSourcedReport(try Inspector.inspectPod(pod, directory: directory), pods: [pod], directory: pods)
        } catch {
            throw CLIError(kernelError: error, doing: "inspect \(target)")
        }
        global.emit(report)
    }
}

extension CLIError {
    /// Maps what namespace and netlink work can throw onto the contract's statuses.
    init(kernelError error: any Error, doing what: String) {
        switch error {
        case let error as PodLookupError:
            self.init([.namespaceGone, .permissionDenied, .namespaceMismatch].contains(error.kind) ? .environment : .badInput, error.message)
        case let error as SystemError where error.isNotANamespace:
            self.init(.badInput, "\(what): \(error): the node's records name something that is not a network namespace")
        case let error as SystemError where error.isPermission:
            self.init(.environment, "\(what): \(error) — run as root (CAP_NET_ADMIN and CAP_SYS_ADMIN are needed to enter namespaces)")
        case let error as SystemError where error.isGone || error.errno == 22:
            self.init(.environment, "\(what): \(error) — the namespace went away while netdoctor read it")
        case let error as NetlinkError where error.isPermission:
            self.init(.environment, "\(what): \(error) — run as root")
        case let error as CLIError:
            self = error
        default:
            self.init(.environment, "\(what): \(error)")
        }
    }
}

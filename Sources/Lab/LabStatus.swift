import ConfigFormats
import Diagnosis

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `lab status` as a report: the plan, what exists of it, and findings for what is missing.
public struct LabStatusReport: Report {
    public let command = "lab"
    var topology: String?
    var family: String?
    var faults: [String]
    var nodes: [(name: String, namespace: String, root: String, exists: Bool)]
    var pods: [(name: String, node: String, namespace: String, sandboxID: String?, address: String?, hostInterface: String?, exists: Bool)]
    var serverRunning: Bool
    var runtimes: [(node: String, pid: Int32, running: Bool)] = []
    var agents: [(node: String, pid: Int32, running: Bool)] = []
    /// The calico topology's policy engine and the policies faults added.
    var policyEngine: String?
    var policies: [String] = []
    public var findings: [Finding]

    public static func current() -> LabStatusReport {
        guard let (lab, state) = Lab.current() else {
            let left = Lab.namespaces(prefix: LabPlan.defaultPrefix)
            return LabStatusReport(
                topology: nil, family: nil, faults: [], nodes: [], pods: [], serverRunning: false,
                findings: left.isEmpty
                    ? []
                    : [
                        Finding(
                            .labIncomplete, .warning, "Lab namespaces exist without a lab state file.",
                            evidence: left, remedy: "netdoctor lab down")
                    ])
        }
        let existing = Set(Lab.namespaces(prefix: lab.plan.prefix))
        let nodes = lab.plan.nodes.map { ($0.name, $0.namespace, lab.plan.nodeRoot($0), existing.contains($0.namespace)) }
        let pods = lab.plan.pods.map { pod in
            let running = state.pods[pod.key]
            let attachment = try? lab.attachment(pod.key, state: state)
            let netns = running?.netnsName ?? "?"
            let addresses = attachment.map { a in a.address6.map { $0 == a.address ? $0 : "\(a.address) \($0)" } ?? a.address }
            return (
                pod.key, pod.node, netns, running?.sandboxID, addresses, attachment?.hostInterface,
                access("/run/netns/\(netns)", F_OK) == 0
            )
        }
        let running = state.serverPID.map { kill($0, 0) == 0 } ?? false
        var findings: [Finding] = []
        for (name, _, namespace, _, _, _, exists) in pods where !exists {
            findings.append(
                Finding(
                    .labIncomplete, .error, "\(name)'s namespace \(namespace) is missing.", hop: namespace,
                    remedy: "netdoctor lab down, then lab up"))
        }
        let agents = state.agentPIDs.sorted { $0.key < $1.key }.map { ($0.key, $0.value, kill($0.value, 0) == 0) }
        let runtimes = state.runtimePIDs.sorted { $0.key < $1.key }.map { ($0.key, $0.value, kill($0.value, 0) == 0) }
        return LabStatusReport(
            topology: state.topology, family: state.family, faults: state.faults, nodes: nodes, pods: pods, serverRunning: running,
            runtimes: runtimes, agents: agents, policyEngine: state.policyEngine, policies: state.policies, findings: findings)
    }

    public var jsonFields: [(String, ConfigValue)] {
        [
            ("topology", .text(topology)), ("family", .text(family)), ("faults", .texts(faults)),
            (
                "nodes",
                .array(
                    nodes.map {
                        .fields([
                            "name": .string($0.name), "namespace": .string($0.namespace), "root": .string($0.root),
                            "exists": .bool($0.exists),
                        ])
                    })
            ),
            (
                "pods",
                .array(
                    pods.map {
                        .fields([
                            "name": .string($0.name), "node": .string($0.node), "namespace": .string($0.namespace),
                            "sandboxID": .text($0.sandboxID), "address": .text($0.address), "hostInterface": .text($0.hostInterface),
                            "exists": .bool($0.exists),
                        ])
                    })
            ),
            ("httpServer", .bool(serverRunning)),
            (
                "runtimes",
                .array(
                    runtimes.map {
                        .fields([
                            "node": .string($0.node), "name": .string("containerd"), "pid": .int(Int($0.pid)),
                            "running": .bool($0.running),
                        ])
                    })
            ),
            ("agents", .array(agents.map { .fields(["node": .string($0.node), "pid": .int(Int($0.pid)), "running": .bool($0.running)]) })),
            ("policyEngine", .text(policyEngine)), ("policies", .texts(policies)),
        ]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        guard let topology else { return [HumanSection("Lab", rows: [("state", "not up (netdoctor lab up)")])] }
        return [
            HumanSection(
                "Lab (\(topology)\(family.map { $0 == "4" ? "" : ", IPv\($0 == "6" ? "6 only" : "4 and IPv6")" } ?? ""))",
                rows: [
                    ("faults", faults.isEmpty ? "none" : faults.joined(separator: ", ")),
                    ("pod-a HTTP :80", serverRunning ? style.green("running") : "stopped"),
                    (
                        "runtimes",
                        runtimes.map { "containerd on \($0.node) \($0.running ? style.green("running") : style.red("stopped"))" }
                            .joined(separator: ", ")
                    ),
                    (
                        "agents",
                        agents.isEmpty
                            ? "none (lab up --agents)"
                            : agents.map { "\($0.node) \($0.running ? style.green("running") : style.red("stopped"))" }.joined(
                                separator: ", ")
                    ),
                ]
                    + (policyEngine.map {
                        [("policy engine", "\($0); policies: \(policies.isEmpty ? "none" : policies.joined(separator: ", "))")]
                    } ?? [])),
            HumanSection(
                "Nodes",
                rows: nodes.map {
                    ($0.name, "\($0.exists ? style.green("up") : style.red("missing"))  netns \($0.namespace)  --root \($0.root)")
                }),
            HumanSection(
                "Pods",
                rows: pods.map {
                    (
                        $0.name,
                        "\($0.exists ? style.green("up") : style.red("missing"))  on \($0.node)  \($0.address ?? "?")  netns \($0.namespace)  host side \($0.hostInterface ?? "?")"
                    )
                }),
        ]
    }
}

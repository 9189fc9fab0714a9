import ConfigFormats
import CRI
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The faults `check` judges, made on node1 as their real causes make them: host-local's pool
/// filled and leaked through the real host-local plugin, a pod subnet changed under a bridge
/// that keeps its address, a conf dir emptied under a running containerd, a br_netfilter switch
/// off.
extension Lab {
    /// The named network namespaces (/run/netns), as `ip netns list` shows them.
    static func namedNamespaces() -> [String] {
        guard let directory = opendir("/run/netns") else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    func injectNodeFault(_ fault: LabFault, state: LabState) throws(LabError) {
        let node1 = plan.nodes[0]
        let root1 = plan.nodeRoot(node1)
        switch fault {
        case .ipamExhausted:
            try reserveThroughHostLocal(node1, count: nil, idPrefix: "f0110d")
        case .ipamLeaked:
            try reserveThroughHostLocal(node1, count: 3, idPrefix: "1eaced")
        case .bridgeAddressMismatch:
            let changed = node1.podSubnet.replacingFirst(".1.0/", with: ".101.0/")
            let config = plan.networkConfig(for: node1)
                .replacingFirst(
                    "\"subnet\": \"\(node1.podSubnet)\", \"gateway\": \"\(node1.podGateway)\"", with: "\"subnet\": \"\(changed)\"")
            try LabFiles.write("\(root1)/etc/cni/net.d/\(plan.configFileName)", config)
        case .runtimeNetworkNotReady:
            let path = "\(root1)/etc/cni/net.d/\(plan.configFileName)"
            guard rename(path, path + ".bak") == 0 else { throw LabError("cannot move \(path)") }
            try waitForNetworkNotReady(node1)
        case .brNetfilterDisabled:
            try Shell.inNamespace(node1.namespace, ["sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0"])
        case .rpFilterStrict:
            let podA = try attachment("pod-a", state: state)
            try Shell.inNamespace(node1.namespace, ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=1"])
            try Shell.run(["ip", "-n", node1.namespace, "route", "add", "\(podA.address)/32", "dev", "eth0"])
        case .nodePortRangeOverlap:
            // Per namespace, as on a node whose sysctl.d widened it.
            try Shell.inNamespace(node1.namespace, ["sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=20000 60999"])
        case .overlayWrongUnderlay:
            let remote = plan.nodes[1]
            let ns = node1.namespace
            try Shell.run(["ip", "-n", ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1-nat"])
            try Shell.run(["ip", "-n", ns, "addr", "add", "10.0.2.15/24", "dev", "eth1"])
            for link in ["eth1", "eth1-nat"] { try Shell.run(["ip", "-n", ns, "link", "set", link, "up"]) }
            try Shell.run(["ip", "-n", ns, "link", "del", "flannel.1"])
            try wireFlannel(
                node1, device: "flannel.1", local: ("10.0.2.15", node1.vtepAddress, 32, node1.vtepMAC),
                remote: (remote.underlayAddress, remote.vtepAddress, remote.podSubnet, remote.vtepMAC), underlayDevice: "eth1")
        case .sandboxNetworkFailed:
            // What the kubelet then does: asks for a sandbox, which the runtime cannot wire.
            let plugin = plan.topology == .overlay ? "bridge" : plan.topology == .routed ? "ptp" : "calico"
            unlink("\(root1)/opt/cni/bin/\(plugin)")
            let pod = LabPlan.Pod(name: "pod-new", node: node1.name, uid: "0d1e5a6b-9c4f-4e7a-8b2d-6f0a1c3e5d70", serves: false)
            let before = Set(Self.namedNamespaces())
            if (try? NodeRuntime(plan: plan, node: node1).run(pod)) != nil {
                throw LabError("node1's containerd gave pod-new a network without its \(plugin) plugin")
            }
            // The namespace containerd made for pod-new and left behind when CNI failed: nothing
            // uses it, and nothing would remove it (the lab's state never knew it).
            for left in Set(Self.namedNamespaces()).subtracting(before) where left.hasPrefix("cni-") {
                _ = try? Shell.run(["ip", "netns", "del", left])
            }
        default:
            throw LabError("\(fault.rawValue) is not a node fault")
        }
    }

    /// Runs the real host-local ADD for containers no runtime has, with node1's own IPAM config
    /// and data dir (under the node's root, where its containerd's host-local writes): `count`
    /// addresses, or until host-local says the range is full. `idPrefix`: six hex digits that
    /// keep one fault's containers apart from another's.
    func reserveThroughHostLocal(_ node: LabPlan.Node, count: Int?, idPrefix: String) throws(LabError) {
        let dataDirectory = "\(plan.nodeRoot(node))/var/lib/cni/networks"
        let config = """
            {"cniVersion": "1.0.0", "name": "\(plan.networkName)",
             "ipam": {"type": "host-local", "dataDir": "\(dataDirectory)",
                      "ranges": [[{"subnet": "\(node.podSubnet)", "gateway": "\(node.podGateway)"}]]}}
            """
        let plugin = "\(Self.pluginDirectory)/host-local"
        for index in 0..<(count ?? 65_536) {
            let id = idPrefix + String(repeating: "0", count: 50) + String(String(index, radix: 16).suffix(8)).leftPadded(to: 8)
            let environment = [
                "CNI_COMMAND=ADD", "CNI_CONTAINERID=\(id)", "CNI_NETNS=/var/run/netns/\(node.namespace)", "CNI_IFNAME=eth0",
                "CNI_PATH=\(Self.pluginDirectory)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            ]
            guard
                let result = ChildProcess.run(
                    plugin, environment: environment, input: Array(config.utf8), timeoutMilliseconds: 10_000)
            else { throw LabError("cannot run \(plugin)") }
            if result.status != 0 {
                // Full: what a new pod would meet now.
                if count == nil, result.outputText.contains("no IP addresses available") { return }
                throw LabError("host-local ADD failed: \(result.outputText)\(result.errorText)")
            }
        }
    }

    /// containerd notices the emptied conf dir through inotify; its Status says so within moments.
    func waitForNetworkNotReady(_ node: LabPlan.Node) throws(LabError) {
        for _ in 0..<50 {
            let conditions = try? RuntimeClient.conditions(NodeRuntime(plan: plan, node: node).endpoint)
            if conditions?.contains(where: { $0.type == "NetworkReady" && !$0.status }) == true { return }
            usleep(100_000)
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

import CNetShims
import Netlink
import NetlinkCodec
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The lab's kube-network-policies: the controller queues the new connections of the local pods
/// a policy selects to NFQUEUE 100 on the postrouting hook (its table `inet kube-network-policies`,
/// set `podips-v4`, nft's `queue` statement); this kernel has no nft `queue` expression, so the
/// lab queues the same packets through iptables' NFQUEUE target with the controller's comment. A
/// stand-in for its process listens on that queue and accepts or drops each packet by the lab's
/// policies, as the controller's evaluators would (`lab serve --nfqueue`).
public enum LabPolicyQueue {
    static let queue: UInt16 = 100

    static let chain = "KUBE-NETWORK-POLICIES"

    /// The controller's rules as iptables-restore --noflush input (mangle table, postrouting).
    static func iptables(_ workloads: [LabWorkload], policies: [LabPolicy]) -> String {
        let selected = workloads.filter { workload in policies.contains { $0.selects.contains(workload.pod) && $0.denies.isEmpty } }
        let comment = ["process IPv4 traffic with network policy enforcement"]
        typealias Rule = LabPolicyRules.Rule
        let rules =
            [Rule(match: [.established], verdict: .accept)]
            + selected.flatMap { workload in
                [
                    Rule(match: [.source(workload.address + "/32")], comments: comment, verdict: .queue(Int(queue))),
                    Rule(match: [.destination(workload.address + "/32")], comments: comment, verdict: .queue(Int(queue))),
                ]
            }
        return LabPolicyRules.restoreInput("mangle", [LabPolicyRules.Chain(name: chain, rules: rules)])
    }

    /// The listener's decisions, as command-line words: "ADDRESS,in|out,proto/port+proto/port".
    static func decisions(_ workloads: [LabWorkload], policies: [LabPolicy]) -> [String] {
        workloads.flatMap { workload in
            policies.filter { $0.selects.contains(workload.pod) && $0.denies.isEmpty }.map { policy in
                "\(workload.address),\(policy.ingress ? "in" : "out"),\(policy.allows.map { "\($0.proto)/\($0.port)" }.joined(separator: "+"))"
            }
        }
    }

    struct Decision {
        var address: [UInt8]
        var ingress: Bool
        var allows: [(proto: UInt8, port: UInt16)]

        init?(_ text: String) {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let octets = parts.first?.split(separator: ".").compactMap { UInt8($0) } ?? []
            guard parts.count == 3, octets.count == 4 else { return nil }
            address = octets
            ingress = parts[1] == "in"
            allows = parts[2].split(separator: "+").compactMap { allow in
                let pieces = allow.split(separator: "/")
                guard pieces.count == 2, let port = UInt16(pieces[1]) else { return nil }
                return (pieces[0] == "udp" ? 17 : 6, port)
            }
        }
    }

    /// The listener: binds the queue in this namespace and answers every packet, for ever.
    public static func serve(decisions texts: [String]) -> Never {
        let decisions = texts.compactMap(Decision.init)
        do {
            let socket = try NetlinkSocket(protocol: NETLINK_NETFILTER)
            for message in NFQueue.bind(queue: queue) { try socket.command(message) }
            while true {
                for message in try socket.events(waitingMilliseconds: 1000) {
                    guard let (id, packet) = try? NFQueue.queuedPacket(message) else { continue }
                    try socket.post(NFQueue.verdict(queue: queue, id: id, accept: allows(Array(packet), decisions)))
                }
            }
        } catch {
            let line = Array("lab serve --nfqueue: \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            exit(1)
        }
    }

    /// The policies' verdict on an IPv4 packet: a pod a policy selects in the packet's direction
    /// gets it only when some such policy allows its protocol and port (Kubernetes semantics).
    static func allows(_ packet: [UInt8], _ decisions: [Decision]) -> Bool {
        guard packet.count >= 20, packet[0] >> 4 == 4 else { return true }
        let headerLength = Int(packet[0] & 0x0F) * 4
        let proto = packet[9]
        let source = Array(packet[12..<16]), destination = Array(packet[16..<20])
        let port: UInt16? =
            (proto == 6 || proto == 17) && packet.count >= headerLength + 4
            ? UInt16(packet[headerLength + 2]) << 8 | UInt16(packet[headerLength + 3]) : nil
        let selecting = decisions.filter { ($0.ingress && $0.address == destination) || (!$0.ingress && $0.address == source) }
        guard !selecting.isEmpty else { return true }
        return selecting.contains { decision in decision.allows.contains { $0.proto == proto && $0.port == port } }
    }
}

extension Lab {
    /// kube-network-policies on each node: its table and a listener on its queue (restarted with
    /// the policies), recorded so that down stops it and POLICY_ENGINE_DOWN can kill it.
    func programQueuedPolicy(_ workloads: [LabWorkload], policies: [LabPolicy], node: LabPlan.Node, state: inout LabState) throws(LabError)
    {
        // This kernel has no nft `queue` expression (nft_queue): the same queueing through
        // iptables' NFQUEUE target, on the same hook, with the controller's comment.
        try Shell.inNamespace(
            node.namespace, ["iptables-restore", "--noflush"], input: LabPolicyQueue.iptables(workloads, policies: policies))
        if state.queueListeners[node.name] == nil {
            try Shell.inNamespace(node.namespace, ["iptables", "-t", "mangle", "-A", "POSTROUTING", "-j", LabPolicyQueue.chain])
        }
        if let old = state.queueListeners[node.name] { Self.stop(old) }
        guard let ip = Shell.find("ip"),
            let pid = ChildProcess.spawnDetached(
                ip,
                arguments: ["netns", "exec", node.namespace, Executable.path, "lab", "serve", "--nfqueue"]
                    + LabPolicyQueue.decisions(workloads, policies: policies).flatMap { ["--queue-policy", $0] },
                environment: Shell.environment)
        else {
            throw LabError("cannot start the queue listener on \(node.name)")
        }
        state.queueListeners[node.name] = pid
        // Bound before the first trace: its line appears in the kernel's queue table.
        for _ in 0..<100 {
            let text = (try? Shell.inNamespace(node.namespace, ["cat", "/proc/net/netfilter/nfnetlink_queue"])) ?? ""
            // The new listener's line (its netlink port is its PID), not the old one's still going away.
            if text.split(separator: "\n").contains(where: {
                $0.split(separator: " ").prefix(2).map(String.init) == [String(LabPolicyQueue.queue), String(pid)]
            }) {
                return
            }
            usleep(20_000)
        }
        throw LabError("the queue listener on \(node.name) did not bind queue \(LabPolicyQueue.queue)")
    }
}

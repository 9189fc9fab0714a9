import Cilium
import NetAddress

/// The probe replayed through the policy maps of the endpoints at its two ends on this node (the
/// destination's ingress, the source's egress), as Cilium's datapath looks them up: what a
/// CILIUM_DROP for a policy reason says of which entry decided.
enum CiliumPolicyWatch {
    static func replays(_ cilium: CiliumDatapath, ends: TraceEnds, proto: TraceProtocol, port: UInt16?) -> [String] {
        replays(cilium, source: ends.sourceAddress, destination: ends.destinationAddress, proto: proto, port: port)
    }

    static func replays(
        _ cilium: CiliumDatapath, source: IPAddress, destination: IPAddress, proto: TraceProtocol, port: UInt16?
    ) -> [String] {
        guard case .success(let endpoints) = cilium.endpoints() else { return [] }
        let identity = { (address: IPAddress) -> UInt32 in
            // An address the ipcache does not have is world (2) to the datapath.
            if case .success(let found?) = cilium.identity(of: address) { return found.identity }
            return 2
        }
        let number: UInt8 =
            switch proto {
            case .icmp: destination.isIPv4 ? 1 : 58
            case .tcp: 6
            case .udp: 17
            }
        // ICMP rules key the message's type: an echo request is 8 (IPv4) or 128 (IPv6).
        let probePort = proto == .icmp ? (destination.isIPv4 ? 8 : 128) : (port ?? 0)
        var lines: [String] = []
        let sides: [(IPAddress, IPAddress, Bool)] = [
            (destination, source, false), (source, destination, true),
        ]
        for (local, peer, egress) in sides {
            guard let endpoint = endpoints.first(where: { $0.address == local && !$0.isHost }),
                case .success(let (map, entries)) = cilium.policy(endpoint: endpoint.endpointID)
            else { continue }
            let packet = CiliumPolicyReplay.Packet(identity: identity(peer), egress: egress, protocolNumber: number, port: probePort)
            let verdict = CiliumPolicyReplay.verdict(
                packet, entries: entries, modern: map.hasPrefix("cilium_policy_v2_") || entries.contains { $0.packets == nil })
            let what = "\(egress ? "egress to" : "ingress from") identity \(packet.identity)"
            let said: String
            switch verdict {
            case .allow(let entry, let proxy): said = "allowed by \(entry.summary)" + (proxy != 0 ? " (to proxy port \(proxy))" : "")
            case .deny(let entry): said = "denied by \(entry.summary) (181, Policy denied by denylist)"
            case .authRequired(let entry, let type): said = "authentication type \(type) required by \(entry.summary) (189)"
            case .noMatch: said = "no entry for that identity nor for any identity (133, Policy denied)"
            }
            lines.append("\(map) of endpoint \(endpoint.endpointID), replayed for \(what): \(said)")
        }
        return lines
    }
}

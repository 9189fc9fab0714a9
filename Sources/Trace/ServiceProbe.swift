import Cilium
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import PathFacts
import Services

/// What the source pod's own traffic to a Service meets: a connection (TCP) or a datagram (UDP)
/// to the Service's address and port, translated by this node's rules as any pod's would be,
/// and the conntrack entry it left: which endpoint the kernel chose, whether it masqueraded.
public struct ServiceProbeResult: Sendable {
    public var frontend: ServiceFrontend
    public var result: ProbeResult
    /// The connection's conntrack entry on this node; nil when there is none or it was not read.
    public var connection: Conntrack.Entry?
    /// Why the entry is missing, when it could not be asked.
    public var conntrackProblem: String?
    /// On a Cilium node: the connection's service entry in Cilium's conntrack (which backend
    /// its load balancer chose), where the kernel's conntrack has no translation to show.
    public var ciliumConnection: CiliumServiceConnection?

    /// The endpoint the probe was sent to: from the kernel's entry's reply direction, or the
    /// backend Cilium's service entry names.
    public var chosen: (address: IPAddress, port: UInt16?)? {
        if let backend = ciliumConnection?.backend { return (backend.address, backend.port) }
        guard let connection, connection.destinationTranslated else { return nil }
        return (connection.reply.source, connection.reply.sourcePort)
    }
}

enum ServiceProbe {
    /// `node`: the sockets of the namespace whose conntrack table translates the source's traffic
    /// (the node's). `cilium`: the node's Cilium maps, when Cilium's load balancer translates.
    static func run(
        from source: NetNamespace, sourceAddress: IPAddress, to frontend: ServiceFrontend, address: IPAddress, proto: String,
        timeoutMilliseconds: Int32, node: NetlinkSockets, cilium: CiliumDatapath? = nil
    ) -> ServiceProbeResult {
        var connection: Conntrack.Entry? = nil
        var ciliumConnection: CiliumServiceConnection? = nil
        var problem: String? = nil
        let lookUp = { (localPort: UInt16?) in
            guard let localPort else {
                problem = "the probe's local port is unknown: conntrack not asked"
                return
            }
            if let cilium {
                switch cilium.serviceConnection(
                    client: sourceAddress, clientPort: localPort, frontend: address, frontendPort: frontend.port,
                    protocolNumber: proto == "udp" ? 17 : 6)
                {
                case .success(let found): ciliumConnection = found
                case .failure(let error): problem = "Cilium's conntrack: \(error)"
                }
                return
            }
            let tuple = Conntrack.Tuple(
                source: sourceAddress, destination: address, proto: proto == "udp" ? 17 : 6,
                sourcePort: localPort, destinationPort: frontend.port)
            (connection, problem) = ConntrackReader.entry(tuple, on: node)
        }
        let result: ProbeResult
        do {
            result =
                proto == "udp"
                ? try UDPProbe.send(
                    from: source, to: address, port: frontend.port, timeoutMilliseconds: timeoutMilliseconds, whileOpen: lookUp)
                : try TCPProbe.connect(
                    from: source, to: address, port: frontend.port, timeoutMilliseconds: timeoutMilliseconds, whileOpen: lookUp)
        } catch {
            result = ProbeResult(kind: .unreachable("\(error)"), description: "no probe sent: \(error)")
        }
        return ServiceProbeResult(
            frontend: frontend, result: result, connection: connection, conntrackProblem: problem, ciliumConnection: ciliumConnection)
    }
}

import Diagnosis
import NetAddress
import Netlink
import NetSystem
import PathFacts
import Pods
import Services

/// One endpoint of a traced Service: where it is and the trace to it on its target port.
public struct EndpointTrace: Sendable {
    public var endpoint: ServiceEndpoint
    public var place: EndpointPlace?
    /// nil when it could not be traced (`problem` says why).
    public var report: TraceReport?
    public var problem: String?

    public var answers: Bool { report?.reachable == true }
}

/// `trace SRC SERVICE`: the Service as kube-proxy programmed it (the DNAT step and the endpoints
/// it can choose), the source's own traffic to the Service's address with the conntrack entry it
/// made (which endpoint the kernel chose, masquerade or not), then a trace to every endpoint on
/// its target port, not only to the one chosen: "2 of 3 endpoints answer; 10.244.2.7 does not:
/// …" with the path codes at the right hop.
public struct ServiceTracer {
    /// Traces to each endpoint go through it (its captures, firewall reads, remote agents).
    public var tracer: Tracer

    public init(tracer: Tracer) { self.tracer = tracer }

    /// `masqueradeMissing`: the table's word on kube-proxy's SNAT step (ServiceTable).
    public func trace(
        source: Pod, sourceAddress: IPAddress, sourceNamespace: NetNamespace, entry: ServiceEntry, mode: ProxyMode,
        frontend: ServiceFrontend, address: IPAddress, places: [IPAddress: EndpointPlace],
        pods: (IPAddress) -> Pod?, node: NetlinkSockets, masqueradeMissing: String? = nil,
        proxyStatus: KubeProxyStatus? = nil, now: Double = 0
    ) -> ServiceTraceReport {
        let probe = ServiceProbe.run(
            from: sourceNamespace, sourceAddress: sourceAddress, to: frontend, address: address, proto: entry.proto,
            timeoutMilliseconds: tracer.timeoutMilliseconds, node: node, cilium: mode == .cilium ? tracer.cilium : nil)
        var endpoints: [EndpointTrace] = []
        for endpoint in entry.endpoints {
            var direct = tracer
            direct.proto = entry.proto == "udp" ? .udp : .tcp
            direct.port = endpoint.port
            let ends = TraceEnds(
                source: source, sourceAddress: sourceAddress,
                destinationName: "\(endpoint.description) (\(entry.label) endpoint)", destinationAddress: endpoint.address,
                destinationPod: pods(endpoint.address))
            do {
                endpoints.append(EndpointTrace(endpoint: endpoint, place: places[endpoint.address], report: try direct.trace(ends)))
            } catch {
                endpoints.append(EndpointTrace(endpoint: endpoint, place: places[endpoint.address], report: nil, problem: "\(error)"))
            }
        }
        let connections = entry.proto == "udp" ? ConntrackReader.entries(to: [address], on: node).entries : []
        // The source's own bridge port, when it is one of the endpoints (hairpin).
        let hostInterface = source.primary?.hostSideInterface
        let hairpin = entry.endpoints.contains { $0.address == sourceAddress } ? hostInterface.flatMap(Self.hairpinMode) : nil
        var findings = ServiceVerdict.judge(
            entry: entry, mode: mode, probe: probe, endpoints: endpoints, source: sourceAddress,
            connections: connections)
        findings += ServiceChecks.hairpin(entry, source: sourceAddress, hostInterface: hostInterface, hairpin: hairpin)
        findings += ServiceChecks.masquerade(
            ServiceTable(mode: mode, entries: [entry], masqueradeMissing: masqueradeMissing),
            config: proxyStatus?.config)
        findings += ServiceChecks.proxyStale(proxyStatus, now: now)
        return ServiceTraceReport(
            source: source, entry: entry, mode: mode, address: address, probe: probe, endpoints: endpoints, findings: findings)
    }

    /// A bridge port's hairpin_mode from sysfs (the namespace netdoctor runs in: the node's); nil
    /// when the interface is no bridge port or cannot be read.
    static func hairpinMode(_ interface: String) -> Bool? {
        guard !interface.contains("/"), !interface.hasPrefix("."),
            let value = Sysctl.readFile("/sys/class/net/\(interface)/brport/hairpin_mode")
        else { return nil }
        return value == "1" ? true : value == "0" ? false : nil
    }
}

import KernelState
import NetlinkCodec
import NetAddress
import PathFacts
import Services

extension NodeSession {
    /// services [SERVICE]: the Service table kube-proxy programmed on this node, each endpoint
    /// placed by this node's routes (and named when it is one of this node's pods).
    public func services(_ query: ServiceQuery?, mode: ProxyMode? = nil) -> ServicesReport {
        let reading = ServiceReader.read(mode: mode)
        let shown = query.map { query in reading.table.map { query.matches(in: $0) } ?? [] } ?? reading.table?.entries ?? []
        return ServicesReport(reading: reading, query: query, places: places(of: shown.flatMap { $0.endpoints.map(\.address) }))
    }

    /// Where each address is: one of this node's pods, behind one of its bridges or veths, or
    /// past a gateway or tunnel (another node), as a route lookup in the node's namespace says.
    func places(of addresses: [IPAddress]) -> [IPAddress: EndpointPlace] {
        guard !addresses.isEmpty, let handle = try? node.handle(directory.node) else { return [:] }
        let links = ((try? handle.state())?.links) ?? []
        var places: [IPAddress: EndpointPlace] = [:]
        for address in Set(addresses) {
            if let pod = pods.pod(holding: address) {
                places[address] = EndpointPlace(.thisNode, "pod \(pod.fullName)")
                continue
            }
            switch handle.lookup(RouteQuery(destination: address)) {
            case .route(let route):
                let device = links.first { $0.index == route.outputIndex }
                let name = device?.name ?? route.outputIndex.map { "if\($0)" } ?? "?"
                if route.type == Route.typeLocal {
                    places[address] = EndpointPlace(.thisNode, "the node's own address")
                } else if route.gateway == nil, let kind = device?.kind, ["bridge", "veth"].contains(kind) {
                    places[address] = EndpointPlace(.thisNode, "behind \(name)")
                } else {
                    places[address] = EndpointPlace(.remote, "via \(route.gateway.map { "\($0) " } ?? "")dev \(name)")
                }
            case .noRoute(let why): places[address] = EndpointPlace(.unknown, "no route: \(why)")
            case .failed(let why): places[address] = EndpointPlace(.unknown, "not looked up: \(why)")
            }
        }
        return places
    }
}

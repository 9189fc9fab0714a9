import BPF
import Cilium
import ConfigFormats
import Diagnosis
import KernelState
import NetlinkCodec
import Pods

/// The answer of `inspect`: a namespace as the kernel sees it, and for a pod its host side.
public struct InspectReport: Report {
    public let command = "inspect"
    public var target: String
    public var view: NamespaceView
    public var pod: Pod?
    /// For a pod: its eth0's host-side veth in the node's namespace, and what serves it there.
    public var hostSide: HostSide?
    public var findings: [Finding]
    /// On a Cilium node: the pod's endpoint as cilium_lxc has it.
    public var ciliumEndpoint: CiliumEndpoint?

    public struct HostSide: Sendable {
        public var namespace: String
        public var interface: InterfaceView
        /// The bridge the veth is a port of, if any.
        public var bridge: InterfaceView?
        /// Node routes that send traffic into the veth (routed CNIs: /32 per pod).
        public var routes: [RouteView]
    }

    public var jsonFields: [(String, ConfigValue)] {
        var fields: [(String, ConfigValue)] = [
            ("target", .string(target)),
            (
                "namespace",
                .fields([
                    "name": .string(view.namespace.name), "path": .string(view.namespace.path),
                    "inode": .int(Int(view.namespace.identity.inode)),
                ])
            ),
        ]
        if let pod {
            fields.append(
                (
                    "pod",
                    .fields([
                        "namespace": .text(pod.namespace), "name": .string(pod.name), "containerID": .string(pod.containerID),
                        "ips": .texts(pod.attachments.flatMap(\.ips)), "netns": .text(pod.netnsPath),
                        "networks": .texts(pod.attachments.compactMap(\.networkName)),
                    ])
                ))
        }
        // The long lists are made as they are written: a node's tens of thousands of routes are
        // never a tree in memory all at once.
        let routes = view.routes
        fields += [
            ("interfaces", .generated(GeneratedArray(view.interfaces, Self.interfaceJSON))),
            ("routes", .generated(GeneratedArray(routes.positions { $0.table == .main }) { Self.routeJSON(routes[$0]) })),
            ("otherRoutes", .generated(GeneratedArray(routes.positions { $0.table != .main }) { Self.routeJSON(routes[$0]) })),
            (
                "neighbors",
                .generated(
                    GeneratedArray(view.neighbors) { n in
                        .fields([
                            "address": .string(n.address), "lladdr": .text(n.linkAddress), "interface": .string(n.interface),
                            "state": .texts(n.state),
                        ])
                    })
            ),
            (
                "forwardingDatabase",
                .array(
                    view.forwardingDatabase.map { e in
                        .fields(["mac": .string(e.mac), "destination": .text(e.destination), "interface": .string(e.interface)])
                    })
            ),
            ("sysctls", .fields(view.state.sysctls.keys.sorted().map { ($0, .string(view.state.sysctls[$0]!)) })),
        ]
        if let endpoint = ciliumEndpoint {
            fields.append(
                (
                    "ciliumEndpoint",
                    .fields([
                        "endpointID": .int(Int(endpoint.endpointID)), "identity": .int(Int(endpoint.identity)),
                        "interfaceIndex": .int(Int(endpoint.interfaceIndex)), "address": .string(endpoint.address.description),
                        "mac": .text(endpoint.mac?.description), "nodeMAC": .text(endpoint.nodeMAC?.description),
                    ])
                ))
        }
        if let hostSide {
            fields.append(
                (
                    "hostSide",
                    .fields([
                        "namespace": .string(hostSide.namespace),
                        "interface": Self.interfaceJSON(hostSide.interface),
                        "bridge": hostSide.bridge.map(Self.interfaceJSON) ?? .null,
                        "routes": .array(hostSide.routes.map(Self.routeJSON)),
                    ])
                ))
        }
        return fields
    }

    static func interfaceJSON(_ i: InterfaceView) -> ConfigValue {
        .fields([
            "name": .string(i.name), "index": .int(Int(i.index)), "kind": .string(i.kind), "mtu": .int(i.mtu),
            "up": .bool(i.up), "operState": .string(i.operState), "mac": .text(i.mac), "addresses": .texts(i.addresses),
            "peer": i.peer.map { .fields(["namespace": .string($0.namespace), "interface": .string($0.interface)]) } ?? .null,
            "master": .text(i.master), "details": .text(i.details),
            "addressFlags": .fields(i.addressFlags.sorted { $0.key < $1.key }.map { ($0.key, .texts($0.value)) }),
            "programs": .array(i.programs.map(\.json)),
        ])
    }

    static func routeJSON(_ r: RouteView) -> ConfigValue {
        .fields([
            "destination": .string(r.destination), "gateway": .text(r.gateway), "interface": .text(r.interface),
            "table": .int(Int(r.table.rawValue)), "mtu": .int(r.mtu), "source": .text(r.source), "type": .string(r.type),
            "scope": .string(r.scope), "family": .int(r.family.rawValue), "protocol": .text(r.learnedFrom),
            "expires": .int(r.expiresSeconds),
        ])
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        var sections: [HumanSection] = []
        var head: [(String, String)] = [
            ("namespace", "\(view.namespace.name)  \(view.namespace.path)  net:[\(view.namespace.identity.inode)]")
        ]
        if let pod {
            head.insert(("pod", style.bold(pod.fullName) + "  sandbox \(pod.containerID.prefix(12))"), at: 0)
            for (i, attachment) in pod.attachments.enumerated() {
                head.append(
                    (
                        i == 0 ? "networks" : "",
                        "\(attachment.networkName ?? "?") → \(attachment.ifName ?? "?") \(attachment.ips.joined(separator: " "))"
                    ))
            }
        }
        if let endpoint = ciliumEndpoint {
            head.append(
                (
                    "cilium",
                    "endpoint \(endpoint.endpointID), identity \(endpoint.identity), device if\(endpoint.interfaceIndex) (cilium_lxc)"
                ))
        }
        sections.append(HumanSection(pod == nil ? "Node \(target)" : "Pod", rows: head))
        sections.append(
            HumanSection(
                "Interfaces",
                rows: view.interfaces.map { i in
                    (String(i.index), interfaceLine(i, style: style))
                }))
        sections.append(
            HumanSection("Routes", rows: view.routes.map { r in (r.table == .main ? "main" : "table \(r.table)", routeLine(r)) }))
        if !view.neighbors.isEmpty {
            sections.append(
                HumanSection(
                    "Neighbours",
                    rows: view.neighbors.map { n in
                        (n.address, "dev \(n.interface)\(n.linkAddress.map { " lladdr \($0)" } ?? "") \(n.state.joined(separator: ","))")
                    }))
        }
        if !view.forwardingDatabase.isEmpty {
            sections.append(
                HumanSection(
                    "Overlay forwarding",
                    rows: view.forwardingDatabase.map { e in
                        (e.mac, "dev \(e.interface)\(e.destination.map { " dst \($0)" } ?? "")")
                    }))
        }
        if let hostSide {
            var rows: [(String, String)] = [("veth", "\(hostSide.namespace):" + interfaceLine(hostSide.interface, style: style))]
            if let bridge = hostSide.bridge { rows.append(("bridge", interfaceLine(bridge, style: style))) }
            for route in hostSide.routes { rows.append(("route", routeLine(route))) }
            sections.append(HumanSection("Host side", rows: rows))
        }
        var keys = ["net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.all.forwarding", "net.ipv6.conf.all.forwarding"]
        // accept_ra where IPv6 router advertisements gave something (it decides whether they still count).
        keys += view.routes.positions(where: { $0.origin == .routerAdvertisement }).compactMap { view.routes[$0].interface }
            .map { "net.ipv6.conf.\($0).accept_ra" }
        sections.append(HumanSection("Forwarding", rows: keys.compactMap { k in view.state.sysctls[k].map { (k, $0) } }))
        return sections
    }

    func interfaceLine(_ i: InterfaceView, style: TextStyle) -> String {
        var parts = [
            style.bold(i.name), i.kind, "mtu \(i.mtu.map(String.init) ?? "?")", i.up ? style.green(i.operState) : style.red("DOWN"),
        ]
        parts += i.addresses.map { cidr in i.addressFlags[cidr].map { style.yellow("\(cidr) (\($0.joined(separator: " ")))") } ?? cidr }
        if let master = i.master { parts.append("master \(master)") }
        if let peer = i.peer { parts.append("peer \(peer.namespace):\(peer.interface)") }
        if let details = i.details { parts.append(details) }
        parts += i.programs.map { style.yellow("BPF " + $0.summary) }
        return parts.joined(separator: "  ")
    }

    func routeLine(_ r: RouteView) -> String {
        var parts = [r.type == "unicast" ? r.destination : "\(r.type) \(r.destination)"]
        if let gw = r.gateway { parts.append("via \(gw)") }
        if let dev = r.interface { parts.append("dev \(dev)") }
        if r.scope != "global" { parts.append("scope \(r.scope)") }
        if let src = r.source { parts.append("src \(src)") }
        if let mtu = r.mtu { parts.append("mtu \(mtu)") }
        if let learned = r.learnedFrom { parts.append("proto \(learned)") }
        if let expires = r.expiresSeconds { parts.append("expires \(expires)s") }
        return parts.joined(separator: " ")
    }
}

import ConfigFormats
import Diagnosis
import Firewall
import KernelState
import NetAddress
import NetlinkCodec

/// The agent's read-only answers about a namespace's state, as Reports made from the kernel's
/// model (a route, neighbour and forwarding entries, firewall rules): their keys are docs/agent.md's.
protocol StateAnswer: Report {}

extension StateAnswer {
    func humanSections(style: TextStyle) -> [HumanSection] { [] }
    var findings: [Finding] { [] }
}

/// GET /v1/route: the route the kernel picks, as `ip route get` shows it; nil with the kernel's
/// reason when there is none.
struct RouteLookupAnswer: StateAnswer {
    let command = "route"
    var target: String
    var destination: IPAddress
    var route: Route?
    var noRoute: String?
    /// The namespace the route was asked in, to name its device.
    var state: NamespaceState

    var jsonFields: [(String, ConfigValue)] {
        let route: ConfigValue =
            self.route.map { route in
                .fields([
                    "type": .int(Int(route.type.rawValue)), "table": .int(Int(route.table.rawValue)),
                    "gateway": .text(route.gateway?.description),
                    "device": .text(route.outputIndex.flatMap(state.name(ofIndex:))),
                    "preferredSource": .text(route.preferredSource?.description),
                    "mtu": .int(route.mtu.map(Int.init)),
                ])
            } ?? .null
        return [("target", .string(target)), ("destination", .string(destination.description)), ("route", route)]
            + (noRoute.map { [("noRoute", .string($0))] } ?? [])
    }
}

/// GET /v1/neighbors and /v1/fdb: neighbour entries, or the bridge's and VXLAN's forwarding ones.
struct NeighborAnswer: StateAnswer {
    enum Table { case neighbors, forwarding }
    var table: Table
    var target: String
    var entries: [Neighbor]
    var state: NamespaceState

    var command: String { table == .neighbors ? "neighbors" : "fdb" }

    var jsonFields: [(String, ConfigValue)] {
        [("target", .string(target)), (table == .neighbors ? "neighbors" : "fdb", .array(entries.map(json)))]
    }

    func json(_ entry: Neighbor) -> ConfigValue {
        let device = ConfigValue.text(state.name(ofIndex: entry.interfaceIndex))
        switch table {
        case .neighbors:
            return .fields([
                "address": .text(entry.destination?.description), "device": device,
                "lladdr": .text(entry.linkAddress?.description), "state": .texts(entry.state.names),
            ])
        case .forwarding:
            return .fields([
                "lladdr": .text(entry.linkAddress?.description), "device": device, "dst": .text(entry.destination?.description),
                "vni": .int(entry.vni.map(Int.init)), "state": .texts(entry.state.names),
            ])
        }
    }
}

/// GET /v1/firewall: every rule with its counters, as iptables-save -c or nft -j gave them.
struct FirewallAnswer: StateAnswer {
    let command = "firewall"
    var target: String
    var rules: [FirewallRule]

    var jsonFields: [(String, ConfigValue)] {
        [
            ("target", .string(target)),
            (
                "rules",
                .array(
                    rules.map { rule in
                        .fields([
                            "table": .string(rule.table), "chain": .string(rule.chain), "rule": .string(rule.text),
                            "packets": .int(Int(clamping: rule.packets)), "bytes": .int(Int(clamping: rule.bytes)),
                            "drops": .bool(rule.drops),
                        ])
                    })
            ),
        ]
    }
}

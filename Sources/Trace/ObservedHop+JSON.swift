import ConfigFormats
import PathFacts

extension ObservedHop {
    /// A hop as every report and agent answer writes it: one encoding for a trace's hops and a
    /// remote half's (whose reader takes them back with `init(json:node:)`).
    public var json: ConfigValue {
        .fields([
            "name": .string(self.name), "namespace": .string(self.namespaceName), "interface": .string(self.interface),
            "role": .string(self.role.rawValue), "node": .text(self.node), "mtu": .int(self.mtu.map(Int.init)), "up": .flag(self.isUp),
            "requestSeen": .flag(requestSeen), "replySeen": .flag(replySeen),
        ])
    }

    /// A hop another node's agent reported: its namespace named as the agent named it (it is
    /// not on this machine), its MTU and state as the agent read them.
    init?(json: ConfigValue, node: String) {
        guard let name = json["name"]?.string, let interface = json["interface"]?.string,
            let role = json["role"]?.string.flatMap(TraceHop.Role.init(rawValue:))
        else { return nil }
        let hop = TraceHop(
            name: name, remote: node, namespace: json["namespace"]?.string ?? "?", interface: interface, role: role,
            mtu: json["mtu"]?.int.flatMap(UInt32.init(exactly:)), up: json["up"]?.bool)
        self.init(hop, seen: HopSeen(request: json["requestSeen"]?.bool, reply: json["replySeen"]?.bool))
    }
}

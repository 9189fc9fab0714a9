import ConfigFormats
import NetSystem
import NodeFiles

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The calico topology's CNI plugin: the node's containerd runs it as `calico` (a script in the
/// node's bin dir execs `netdoctor lab cni-calico`) with the CNI protocol's environment and
/// config, and it wires the pod as calico's plugin does: a veth named `cali` + 11 hex digits on
/// the host (MAC ee:ee:ee:ee:ee:ee, proxy ARP on, no address, a /32 host route to the pod), the
/// pod's address as a /32 on its eth0 with 169.254.1.1 on-link and the default route via it.
/// IPAM is delegated to host-local, as CNI plugins delegate it. With an IPv6 range too (a
/// dual-stack lab), the pod's IPv6 address is a /128 with its default route via
/// fe80::ecee:eeff:feee:eeee, the link-local address the host veth's MAC gives it (calico's IPv6
/// gateway: no proxy NDP needed), a /128 host route, accept_ra off on the host veth (felix).
/// Everything goes through `ip` and `sysctl`: what a real node would see, made by the same
/// kernel calls.
/// The cilium topology's plugin is the same program in Cilium's style (`cilium-cni`, LabCiliumPlugin):
/// `lxc` veths with the kernel's MAC, the node's router address on cilium_host as the gateway
/// (IPv6: answered by proxy NDP on the lxc veth, where Cilium's datapath answers itself), IPAM
/// on the node's ranges as cilium-agent's would hand them out.
public enum LabCalicoPlugin {
    /// How the pod is wired: calico's way, or Cilium's with the node's ranges and router addresses.
    public enum Style: Sendable {
        case calico
        case cilium(LabCiliumPlugin.Node)
    }

    /// Runs one CNI command on stdin's config: the exit status, and what goes to stdout (the
    /// result, or the CNI error object).
    public static func main(style: Style = .calico) -> (status: Int32, output: String) {
        let env = environment()
        var input = readAll(fd: 0)
        guard let config = try? JSONParser.parse(bytes: input) else {
            return fail(code: 6, "the network config on stdin does not parse", version: "0.3.1")
        }
        let version = config["cniVersion"]?.string ?? "0.3.1"
        // cilium-cni's config has no IPAM: the agent's is host-local over the node's ranges here.
        if case .cilium(let node) = style { input = Array(node.ipamConfig(version: version).utf8) }
        do {
            switch env["CNI_COMMAND"] ?? "" {
            case "ADD": return (0, try add(config: config, input: input, env: env, version: version, style: style))
            case "DEL": try delete(input: input, env: env, style: style)
            case "CHECK": try check(env: env, style: style)
            case "VERSION":
                return (
                    0,
                    JSONWriter.write(
                        .fields([
                            "cniVersion": .string(version),
                            "supportedVersions": .texts(["0.3.0", "0.3.1", "0.4.0", "1.0.0"]),
                        ])) + "\n"
                )
            default: return fail(code: 4, "unknown CNI_COMMAND \(env["CNI_COMMAND"] ?? "")", version: version)
            }
            return (0, "")
        } catch {
            return fail(code: 999, error.description, version: version)
        }
    }

    /// calico's host veth name: `cali` and the first 11 hex digits of a hash of the pod's
    /// workload ID (namespace.name); calico hashes with SHA-1, the lab with its own stable hash.
    /// Cilium's: `lxc` and 12 hex digits.
    public static func hostVethName(namespace: String, pod: String, style: Style = .calico) -> String {
        let digits = LabPlan.hexDigits(for: "\(namespace).\(pod)")
        if case .cilium = style { return "lxc" + String(digits.prefix(12)) }
        return "cali" + String(digits.prefix(11))
    }

    static func hostVethName(env: [String: String], style: Style) -> String {
        let args = podArguments(env["CNI_ARGS"] ?? "")
        return hostVethName(
            namespace: args["K8S_POD_NAMESPACE"] ?? "default", pod: args["K8S_POD_NAME"] ?? env["CNI_CONTAINERID"] ?? "pod",
            style: style)
    }

    static func add(
        config: ConfigValue, input: [UInt8], env: [String: String], version: String, style: Style
    ) throws(LabError)
        -> String
    {
        guard let netns = env["CNI_NETNS"], !netns.isEmpty, let ifname = env["CNI_IFNAME"] else {
            throw LabError("CNI_NETNS and CNI_IFNAME are required")
        }
        let hostVeth = hostVethName(env: env, style: style)
        var mtu = config["mtu"]?.int ?? 1500
        if case .cilium(let node) = style { mtu = node.mtu }
        let ipamResult = try ipam(input: input, env: env)
        let addresses = (ipamResult["ips"]?.array ?? []).compactMap { $0["address"]?.string?.split(separator: "/").first.map(String.init) }
        guard !addresses.isEmpty else { throw LabError("host-local gave no address") }
        let pod = ["nsenter", "--net=\(netns)", "ip"]
        do {
            try Shell.run([
                "ip", "link", "add", hostVeth, "mtu", String(mtu), "type", "veth", "peer", "name", ifname, "mtu", String(mtu),
                "netns", netns,
            ])
            if case .calico = style { try Shell.run(["ip", "link", "set", hostVeth, "address", "ee:ee:ee:ee:ee:ee"]) }
            try Shell.run(["ip", "link", "set", hostVeth, "up"])
            try Shell.run(pod + ["link", "set", ifname, "up"])
            for address in addresses {
                switch (style, address.contains(":")) {
                case (.calico, true): try wireIPv6(address, hostVeth: hostVeth, ifname: ifname, pod: pod)
                case (.calico, false): try wireIPv4(address, hostVeth: hostVeth, ifname: ifname, pod: pod)
                case (.cilium(let node), let v6):
                    try LabCiliumPlugin.wire(
                        address, ipv6: v6, router: v6 ? node.router6 : node.router4, hostVeth: hostVeth, ifname: ifname, pod: pod)
                }
            }
        } catch {
            Shell.attempt(["ip", "link", "del", hostVeth])
            _ = try? runIPAM(input: input, env: env, command: "DEL")
            throw error
        }
        // sysfs shows the namespace of whoever mounted it, so the pod's MAC comes from `ip`.
        let link = (try? Shell.run(["nsenter", "--net=\(netns)", "ip", "-o", "link", "show", ifname])) ?? ""
        let words = link.split(separator: " ")
        let podMAC = words.firstIndex(of: "link/ether").flatMap { $0 + 1 < words.count ? String(words[$0 + 1]) : nil } ?? ""
        var hostMAC = "ee:ee:ee:ee:ee:ee"
        if case .cilium = style {
            let host = ((try? Shell.run(["ip", "-o", "link", "show", hostVeth])) ?? "").split(separator: " ")
            hostMAC = host.firstIndex(of: "link/ether").flatMap { $0 + 1 < host.count ? String(host[$0 + 1]) : nil } ?? ""
        }
        return result(
            version: version, hostVeth: hostVeth, hostMAC: hostMAC, ifname: ifname, podMAC: podMAC, netns: netns, addresses: addresses)
    }

    /// IPv4: proxy ARP on the host veth answers for 169.254.1.1, which no interface holds.
    static func wireIPv4(_ address: String, hostVeth: String, ifname: String, pod: [String]) throws(LabError) {
        for setting in [
            "net.ipv4.conf.\(hostVeth).proxy_arp=1", "net.ipv4.neigh.\(hostVeth).proxy_delay=0",
            "net.ipv4.conf.\(hostVeth).forwarding=1",
        ] {
            try Shell.run(["sysctl", "-q", "-w", setting])
        }
        try Shell.run(["ip", "route", "replace", "\(address)/32", "dev", hostVeth, "scope", "link"])
        try Shell.run(pod + ["addr", "add", "\(address)/32", "dev", ifname])
        try Shell.run(pod + ["route", "add", LabPlan.calicoGateway, "dev", ifname, "scope", "link"])
        try Shell.run(pod + ["route", "add", "default", "via", LabPlan.calicoGateway, "dev", ifname])
    }

    /// IPv6: the host veth's own link-local address (from its MAC) is the gateway.
    static func wireIPv6(_ address: String, hostVeth: String, ifname: String, pod: [String]) throws(LabError) {
        try Shell.run(["sysctl", "-q", "-w", "net.ipv6.conf.\(hostVeth).accept_ra=0"])
        try Shell.run(["ip", "-6", "route", "replace", "\(address)/128", "dev", hostVeth])
        try Shell.run(pod + ["-6", "addr", "add", "\(address)/128", "dev", ifname, "nodad"])
        try Shell.run(pod + ["-6", "route", "add", "default", "via", LabPlan.calicoGateway6, "dev", ifname])
    }

    /// The result as calico's plugin writes it: the host veth and the pod's interface, a /32 (an
    /// IPv6 /128) per address, no gateway (0.3.x results carry the address family as "version").
    static func result(
        version: String, hostVeth: String, hostMAC: String, ifname: String, podMAC: String, netns: String, addresses: [String]
    ) -> String {
        let ips: [ConfigValue] = addresses.map { address in
            let v6 = address.contains(":")
            var ip: [(String, ConfigValue)] = [("address", .string("\(address)/\(v6 ? 128 : 32)")), ("interface", .int(1))]
            if version.hasPrefix("0.") { ip.insert(("version", .string(v6 ? "6" : "4")), at: 0) }
            return .fields(ip)
        }
        return JSONWriter.write(
            .fields([
                ("cniVersion", .string(version)),
                (
                    "interfaces",
                    .array([
                        .fields(["name": .string(hostVeth), "mac": .string(hostMAC)]),
                        .fields(["name": .string(ifname), "mac": .string(podMAC), "sandbox": .string(netns)]),
                    ])
                ),
                ("ips", .array(ips)),
                ("dns", .fields([])),
            ])) + "\n"
    }

    /// DEL is idempotent, as the spec asks: the veth (and with it the host route) and the address.
    static func delete(input: [UInt8], env: [String: String], style: Style) throws(LabError) {
        Shell.attempt(["ip", "link", "del", hostVethName(env: env, style: style)])
        _ = try runIPAM(input: input, env: env, command: "DEL")
    }

    static func check(env: [String: String], style: Style) throws(LabError) {
        _ = try Shell.run(["ip", "link", "show", hostVethName(env: env, style: style)])
    }

    static func ipam(input: [UInt8], env: [String: String]) throws(LabError) -> ConfigValue {
        let output = try runIPAM(input: input, env: env, command: "ADD")
        guard let value = try? JSONParser.parse(bytes: output) else { throw LabError("host-local's answer does not parse") }
        if let message = value["msg"]?.string { throw LabError("host-local: \(message)") }
        return value
    }

    /// host-local with the same environment and config, found on CNI_PATH as libcni finds plugins.
    static func runIPAM(input: [UInt8], env: [String: String], command: String) throws(LabError) -> [UInt8] {
        let directories = (env["CNI_PATH"] ?? "/opt/cni/bin").split(separator: ":").map(String.init)
        guard let plugin = directories.map({ $0 + "/host-local" }).first(where: { NodeRoot("/").status($0)?.isExecutable == true }) else {
            throw LabError("host-local is not on CNI_PATH")
        }
        var environment = env
        environment["CNI_COMMAND"] = command
        guard
            let result = ChildProcess.run(
                plugin, environment: environment.map { "\($0.key)=\($0.value)" }, input: input,
                timeoutMilliseconds: 10_000)
        else { throw LabError("cannot run \(plugin)") }
        guard result.status == 0 || command == "DEL" else { throw LabError("host-local \(command) failed: \(result.outputText)") }
        return result.output
    }

    /// CNI_ARGS: `K=V;K=V` (the runtime passes the pod's namespace and name).
    static func podArguments(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { out[parts[0]] = parts[1] }
        }
        return out
    }

    static func environment() -> [String: String] {
        var out: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { out[parts[0]] = parts[1] }
            pointer += 1
        }
        return out
    }

    static func readAll(fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while out.count < 1 << 20 {
            let n = retryingOnInterrupt { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    static func fail(code: Int, _ message: String, version: String) -> (status: Int32, output: String) {
        (1, JSONWriter.write(.fields(["cniVersion": .string(version), "code": .int(code), "msg": .string(message)])) + "\n")
    }
}

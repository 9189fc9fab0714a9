import ConfigFormats
import Diagnosis
import NetAddress

/// What the reference plugins themselves refuse in a config that libcni loads: every pod sandbox
/// on the node then fails at ADD, so these are errors, never "not set". The rules are the
/// plugins' own: host-local's range canonicalisation (backend/allocator/range.go, range_set.go),
/// types.Route's CIDR parsing, Go's integer decoding of `mtu` into the plugin's NetConf.
enum PluginRules {
    static func problems(_ network: NetworkConfig, file: String) -> [Finding] {
        var found: [Finding] = []
        for (i, plugin) in network.plugins.enumerated() {
            let label = "plugins[\(i)] (\(plugin.type ?? "?"))"
            if let problem = mtuProblem(plugin.raw) { found.append(finding(label, problem, file: file)) }
            guard let ipam = plugin.raw.field("ipam")?.object else { continue }
            let ipamType = ipam.field("type")?.string
            for problem in routeProblems(ipam) { found.append(finding(label, problem, file: file)) }
            if ipamType == "host-local" {
                for problem in hostLocalProblems(ipam) { found.append(finding("\(label) host-local", problem, file: file)) }
            }
        }
        return found
    }

    struct Problem {
        var text: String
        var line: Int
        var rule: String
    }

    static func finding(_ label: String, _ problem: Problem, file: String) -> Finding {
        ConfigInvalid.refusedByPlugin(label, problem, file: file)
    }

    /// The line a key (Go-matched) stands on.
    static func line(_ object: ConfigObject, _ key: String) -> Int {
        object.members.last { $0.key.lowercased() == key.lowercased() }?.line ?? 0
    }

    /// `mtu` decoded into an int: a fraction, a number beyond int64 or a non-number fails the
    /// decode; a negative or above-65535 MTU fails the link change.
    static func mtuProblem(_ plugin: ConfigObject) -> Problem? {
        guard let value = plugin.field("mtu") else { return nil }
        let at = line(plugin, "mtu")
        switch value {
        case .number(let number, let text):
            guard number.rounded() == number, abs(number) < 9.2e18 else {
                return Problem(
                    text: "\"mtu\": \(text)", line: at,
                    rule: "json: cannot unmarshal number \(text) into Go struct field NetConf.mtu of type int")
            }
            guard (0...65535).contains(number) else {
                return Problem(
                    text: "\"mtu\": \(text)", line: at, rule: "an MTU is 0 (the default) to 65535; the kernel refuses the link change")
            }
            return nil
        case .string:
            return nil  // aws-cni and others parse strings; mtuProblems says what others do
        default:
            return Problem(
                text: "\"mtu\": \(JSONWriter.write(value, pretty: false))", line: at,
                rule: "json: cannot unmarshal \(value.kindName) into Go struct field NetConf.mtu of type int")
        }
    }

    /// Every route's `dst` must be a CIDR (types.Route unmarshals it with net.ParseCIDR).
    static func routeProblems(_ ipam: ConfigObject) -> [Problem] {
        (ipam.field("routes")?.array ?? []).enumerated().compactMap { i, route in
            let dst = route.field("dst")
            guard let text = dst?.string, Self.cidr(text) != nil else {
                return Problem(
                    text: "routes[\(i)].dst: \(dst.map { JSONWriter.write($0, pretty: false) } ?? "missing")",
                    line: line(ipam, "routes"), rule: "types.Route: invalid CIDR address (net.ParseCIDR)")
            }
            return nil
        }
    }

    /// host-local: each subnet a CIDR with room to allocate, rangeStart and rangeEnd inside it,
    /// and no two ranges overlapping.
    static func hostLocalProblems(_ ipam: ConfigObject) -> [Problem] {
        var problems: [Problem] = []
        var ranges: [(set: Int, prefix: IPPrefix)] = []
        var sets: [[ConfigValue]] = (ipam.field("ranges")?.array ?? []).map { $0.array ?? [$0] }
        if let subnet = ipam.field("subnet") {
            sets.insert([.object(ConfigObject([.init(key: "subnet", value: subnet, line: line(ipam, "subnet"))]))], at: 0)
        }
        for (setIndex, set) in sets.enumerated() {
            for range in set {
                guard let object = range.object else { continue }
                let at = line(object, "subnet") > 0 ? line(object, "subnet") : line(ipam, "ranges")
                // Calico puts the node's podCIDR there before it calls host-local.
                if let text = object.field("subnet")?.string, calicoPlaceholders.contains(text) { continue }
                guard let text = object.field("subnet")?.string, let prefix = Self.cidr(text) else {
                    problems.append(
                        Problem(
                            text: "subnet \(object.field("subnet").map { JSONWriter.write($0, pretty: false) } ?? "missing")",
                            line: at, rule: "invalid CIDR address (net.ParseCIDR)"))
                    continue
                }
                let bits = prefix.address.isIPv4 ? 32 : 128
                if prefix.length > bits - 2 {
                    problems.append(Problem(text: "subnet \(text)", line: at, rule: "Network \(text) too small to allocate from"))
                }
                for key in ["rangeStart", "rangeEnd"] {
                    guard let bound = object.field(key) else { continue }
                    guard let address = bound.string.flatMap(IPAddress.parse), prefix.contains(address) else {
                        problems.append(
                            Problem(
                                text: "\(key) \(JSONWriter.write(bound, pretty: false))", line: line(object, key),
                                rule: "\(key == "rangeStart" ? "RangeStart" : "RangeEnd") not in network \(text)"))
                        continue
                    }
                }
                if let other = ranges.first(where: { $0.prefix.overlaps(prefix) }) {
                    problems.append(
                        Problem(
                            text: "subnet \(text) and \(other.prefix)", line: at,
                            rule: other.set == setIndex
                                ? "subnets \(other.prefix) and \(text) overlap"
                                : "range set \(other.set) overlaps with \(setIndex)"))
                }
                ranges.append((setIndex, prefix))
            }
        }
        return problems
    }

    /// Subnet values calico's CNI replaces with the node's pod CIDR (calico ipam docs).
    static let calicoPlaceholders: Set<String> = ["usePodCidr", "usePodCidrIPv6"]

    /// A CIDR as net.ParseCIDR takes it: an address, a slash, a length within the family's.
    static func cidr(_ text: String) -> IPPrefix? {
        guard text.contains("/"), let prefix = IPPrefix.parse(text) else { return nil }
        let digits = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).last ?? ""
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) ? prefix : nil
    }
}

extension IPPrefix {
    /// Whether two prefixes share an address: one contains the other's network address.
    func overlaps(_ other: IPPrefix) -> Bool {
        address.isIPv4 == other.address.isIPv4 && (contains(other.address) || other.contains(address))
    }
}

import CNIDetection
import ConfigFormats
import NetAddress

/// One range of a host-local range set, with host-local's own defaults filled in (plugins'
/// backend/allocator/range.go, Canonicalize): the gateway defaults to the subnet's first host,
/// the range to the subnet's first host through its last (IPv4: the one before the broadcast),
/// and the allocator skips the gateway.
public struct IPAMRange: Sendable, Equatable {
    public var subnet: IPPrefix
    public var start: IPAddress
    public var end: IPAddress
    public var gateway: IPAddress?

    /// Reads `{subnet, rangeStart, rangeEnd, gateway}`; nil when the subnet is not a prefix
    /// host-local can allocate from (it refuses a /31, /32, /127 or /128 too).
    public init?(_ range: ConfigValue) {
        guard let text = range.field("subnet")?.string, let written = IPPrefix.parse(text) else { return nil }
        let width = written.address.isIPv4 ? 32 : 128
        guard written.length <= width - 2 else { return nil }
        let subnet = IPPrefix(address: written.first, length: written.length)
        let firstHost = subnet.first.advanced(by: 1) ?? subnet.first
        let lastHost = subnet.address.isIPv4 ? (subnet.last.advanced(by: -1) ?? subnet.last) : subnet.last
        let given = { (key: String) in range.field(key)?.string.flatMap(IPAddress.parse).flatMap { subnet.contains($0) ? $0 : nil } }
        self.subnet = subnet
        start = given("rangeStart") ?? firstHost
        end = given("rangeEnd") ?? lastHost
        gateway = given("gateway") ?? firstHost
        guard start <= end else { return nil }
    }

    /// Addresses the allocator can hand out (the gateway excluded); UInt64.max when beyond count.
    public var capacity: UInt64 {
        guard let all = start.count(through: end) else { return 0 }
        guard all != UInt64.max else { return all }
        if let gateway, start <= gateway, gateway <= end { return all - 1 }
        return all
    }

    public func contains(_ address: IPAddress) -> Bool { start <= address && address <= end && address.isIPv4 == start.isIPv4 }

    /// As host-local's error names a range set: "10.244.1.1-10.244.1.254".
    public var description: String { "\(start)-\(end)" }
}

/// A host-local pool the node's pod network allocates from: the network name (its data dir's
/// name), the data dir, and its range sets (one address per set for each pod: one per family).
public struct HostLocalPool: Sendable, Equatable {
    public var network: String
    public var dataDirectory: String
    public var rangeSets: [[IPAMRange]]
    /// Where the pool's configuration was read: "10-flannel.conflist plugins[0] (flannel's
    /// delegate, subnet from /run/flannel/subnet.env)".
    public var source: String

    public init(network: String, dataDirectory: String, rangeSets: [[IPAMRange]], source: String) {
        self.network = network
        self.dataDirectory = dataDirectory
        self.rangeSets = rangeSets
        self.source = source
    }

    /// The node path of the network's directory, where one file per reserved address is kept.
    public var directory: String { dataDirectory.hasSuffix("/") ? dataDirectory + network : dataDirectory + "/" + network }

    public static let defaultDataDirectory = "/var/lib/cni/networks"
}

/// Which host-local pools the active network uses, read from its config as the plugins read it.
public enum HostLocalPools {
    /// The pools of `network`, and what could not be read (another IPAM, a flannel network
    /// without its subnet.env): said, never guessed.
    public static func of(
        _ network: NetworkConfig, file: String, flannelEnvironment: EnvironmentFile?
    ) -> (pools: [HostLocalPool], notRead: [String]) {
        guard let name = network.name, !name.isEmpty else { return ([], ["\(file) has no network name: host-local's data dir unknown"]) }
        var pools: [HostLocalPool] = []
        var notRead: [String] = []
        for (index, plugin) in network.plugins.enumerated() {
            let place = "\(file) plugins[\(index)] (\(plugin.type ?? "?"))"
            if plugin.type == "flannel" {
                let (pool, problem) = flannelPool(plugin.raw, network: name, place: place, environment: flannelEnvironment)
                pools += pool.map { [$0] } ?? []
                notRead += problem.map { [$0] } ?? []
                continue
            }
            guard let ipam = plugin.raw.field("ipam")?.object, let type = ipam.field("type")?.string else { continue }
            guard type == "host-local" else {
                // Azure CNI's is read from its own file (AzureIPAM).
                if type != "azure-vnet-ipam" { notRead.append("\(place) allocates with \(type) IPAM, which netdoctor does not read") }
                continue
            }
            if let pool = pool(ipam, network: name, source: place) {
                pools.append(pool)
            } else {
                notRead.append("\(place): host-local's ranges are not readable")
            }
        }
        return (pools, notRead)
    }

    /// `ranges` (range sets of ranges), or the single range of the older form
    /// (`subnet`, `rangeStart`, `rangeEnd`, `gateway` beside `type`).
    static func pool(_ ipam: ConfigObject, network: String, source: String) -> HostLocalPool? {
        var sets: [[IPAMRange]] = []
        if let listed = ipam.field("ranges")?.array {
            for set in listed {
                let ranges = (set.array ?? [set]).compactMap(IPAMRange.init)
                if !ranges.isEmpty { sets.append(ranges) }
            }
        } else if let single = IPAMRange(.object(ipam)) {
            sets = [[single]]
        }
        guard !sets.isEmpty else { return nil }
        let dataDirectory = ipam.field("dataDir")?.string.flatMap { $0.isEmpty ? nil : $0 } ?? HostLocalPool.defaultDataDirectory
        return HostLocalPool(network: network, dataDirectory: dataDirectory, rangeSets: sets, source: source)
    }

    /// flannel's CNI plugin hands its delegate host-local over FLANNEL_SUBNET (and
    /// FLANNEL_IPV6_SUBNET), under the network's own name, unless its conf has an ipam of its
    /// own type (flannel-io/cni-plugin, flannel_linux.go getDelegateIPAM).
    static func flannelPool(
        _ plugin: ConfigObject, network: String, place: String, environment: EnvironmentFile?
    ) -> (HostLocalPool?, String?) {
        let ipam = plugin.field("ipam")?.object ?? ConfigObject()
        if let type = ipam.field("type")?.string, type != "host-local" {
            return (nil, "\(place) hands its delegate \(type) IPAM, which netdoctor does not read")
        }
        let subnetFile = plugin.field("subnetFile")?.string ?? FlannelSubnet.defaultPath
        guard let environment else { return (nil, "\(place): \(subnetFile) is not readable, so flannel's pool is unknown") }
        let subnets = ["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"].compactMap { environment[$0] }.filter { !$0.isEmpty }
        let sets = subnets.compactMap { IPAMRange(.object(ConfigObject([.init(key: "subnet", value: .string($0))]))) }.map { [$0] }
        guard !sets.isEmpty else { return (nil, "\(place): \(subnetFile) gives no subnet flannel's host-local can allocate from") }
        let dataDirectory = ipam.field("dataDir")?.string.flatMap { $0.isEmpty ? nil : $0 } ?? HostLocalPool.defaultDataDirectory
        return (
            HostLocalPool(
                network: network, dataDirectory: dataDirectory, rangeSets: sets,
                source: "\(place), its delegate's host-local over \(subnetFile)"), nil
        )
    }
}

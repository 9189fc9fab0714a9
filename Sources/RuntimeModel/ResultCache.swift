import ConfigFormats
import NetAddress
import NodeFiles

/// One libcni result-cache file (`/var/lib/cni/results/<network>-<containerID>-<ifname>`, kind
/// cniCacheV1): which pod, which network and chain, which addresses. This is how netdoctor
/// finds pods without the API server.
public struct CacheEntry: Sendable, Equatable {
    public var kind: String?
    public var containerID: String?
    public var networkName: String?
    public var ifName: String?
    /// The network namespace path: the top-level `netns` (libcni ≥ 1.2), else the `sandbox` of
    /// the interface the result's IPs point at (every libcni; containerd 1.6 and 1.7 write only
    /// that), else the one interface that has a sandbox.
    public var netns: String?
    /// Interfaces of the result (host side and pod side, as the plugins reported them).
    public var interfaces: [CachedInterface] = []
    public var podNamespace: String?
    public var podName: String?
    /// Plugin types of the cached config (base64 in the file).
    public var types: [String]
    public var cniVersion: String?
    /// Addresses with prefix length, from `result.ips` (or 0.2.0's ip4/ip6).
    public var ips: [String]
    public var gateway: String?
    /// What is wrong with the entry, for the report.
    public var problems: [String]

    public var pod: String? {
        guard let podName else { return nil }
        return podNamespace.map { "\($0)/\(podName)" } ?? podName
    }

    public var isValid: Bool { kind == "cniCacheV1" && containerID != nil && networkName != nil && ifName != nil }

    /// The runtime's own loopback attachment (containerd's `cni-loopback` network on `lo`, with
    /// 127.0.0.1/8 and ::1/128): it shares the pod's arguments but is not the pod's network, so it
    /// names neither the pod's addresses nor its interface.
    public var isRuntimeLoopback: Bool { ifName == "lo" || (!types.isEmpty && types.allSatisfy { $0 == "loopback" }) }

    /// The host side of the attachment as the plugins reported it: the last interface without a
    /// sandbox (bridge results list the bridge, then the host veth; ptp only the host veth).
    public var hostSideInterface: String? { interfaces.last { $0.sandbox?.isEmpty != false }?.name }

    /// The addresses without their prefix length; entries that are not addresses are left out.
    public var addresses: [IPAddress] { ips.compactMap(Self.address(ofCIDR:)) }

    /// "10.244.1.2/24" → 10.244.1.2; nil for "", "/", "garbage/24".
    public static func address(ofCIDR text: String) -> IPAddress? {
        guard let head = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first else { return nil }
        return IPAddress.parse(String(head))
    }

    /// Reads a cache file's bytes; nil when it is not JSON at all.
    public static func parse(bytes: [UInt8]) -> CacheEntry? {
        var configs = ConfigMemo()
        return parse(bytes: bytes, configs: &configs)
    }

    /// What a cached network config says (its plugins' types, its cniVersion), by the config's
    /// base64 text: every pod of a network caches the same config, so a read of a node's cache
    /// decodes and parses each once, not once per pod.
    public typealias ConfigMemo = [String: (types: [String], cniVersion: String?)]

    static func parse(bytes: [UInt8], configs: inout ConfigMemo) -> CacheEntry? {
        guard let object = (try? JSONParser.parse(bytes: bytes))?.object else { return nil }
        var entry = CacheEntry(
            kind: object["kind"]?.string, containerID: object["containerId"]?.string,
            networkName: object["networkName"]?.string, ifName: object["ifName"]?.string,
            netns: object["netns"]?.string, podNamespace: nil, podName: nil, types: [],
            cniVersion: nil, ips: [], gateway: nil, problems: [])
        var argCount: [String: Int] = [:]
        for pair in object["cniArgs"]?.array ?? [] {
            guard let kv = pair.array, kv.count == 2, let key = kv[0].string, let value = kv[1].string else { continue }
            argCount[key, default: 0] += 1
            if key == "K8S_POD_NAMESPACE" { entry.podNamespace = value }
            if key == "K8S_POD_NAME" { entry.podName = value }
        }
        if argCount.values.contains(where: { $0 > 1 }) { entry.problems.append("cniArgs repeats keys") }
        if let encoded = object["config"]?.string {
            if configs[encoded] == nil, let decoded = Base64.decode(encoded), let config = (try? JSONParser.parse(bytes: decoded))?.object {
                // The chain the network ran: a conflist's plugins, or the one plugin of a conf.
                let plugins = config.field("plugins").map { $0.array?.compactMap(\.object) ?? [] } ?? [config]
                configs[encoded] = (plugins.compactMap { $0.field("type")?.string }, config.field("cniVersion")?.string)
            }
            if let said = configs[encoded] { (entry.types, entry.cniVersion) = said }
        }
        let result = object["result"]?.object ?? object
        if let version = result["cniVersion"]?.string { entry.cniVersion = version }
        entry.interfaces = (result["interfaces"]?.array ?? []).map {
            CachedInterface(name: $0["name"]?.string, mac: $0["mac"]?.string, sandbox: $0["sandbox"]?.string)
        }
        var sandboxOfIPs: String?
        for ip in result["ips"]?.array ?? [] {
            if let address = ip["address"]?.string { entry.ips.append(address) }
            if entry.gateway == nil, let gw = ip["gateway"]?.string { entry.gateway = gw }
            if sandboxOfIPs == nil, let index = ip["interface"]?.int, entry.interfaces.indices.contains(index) {
                sandboxOfIPs = entry.interfaces[index].sandbox.flatMap { $0.isEmpty ? nil : $0 }
            }
        }
        if entry.netns?.isEmpty != false {
            let sandboxes = Set(entry.interfaces.compactMap(\.sandbox).filter { !$0.isEmpty })
            entry.netns = sandboxOfIPs ?? (sandboxes.count == 1 ? sandboxes.first : nil)
            if sandboxOfIPs == nil, sandboxes.count > 1 {
                entry.problems.append("the result names \(sandboxes.count) sandboxes and no IP says which is the pod's")
            }
        }
        for legacy in ["ip4", "ip6"] {
            guard let block = result[legacy]?.object else { continue }
            if let address = block["ip"]?.string { entry.ips.append(address) }
            if entry.gateway == nil, let gw = block["gateway"]?.string { entry.gateway = gw }
            entry.problems.append("result in CNI 0.1.0/0.2.0 format (\(legacy))")
            if entry.cniVersion == nil { entry.cniVersion = "0.2.0" }
        }
        if !entry.isValid { entry.problems.append("incomplete cache entry (kind, containerId, networkName or ifName missing)") }
        return entry
    }

    public static let resultsDirectory = "/var/lib/cni/results"

    /// Every parsable entry of a node's result cache.
    public static func readAll(root: NodeRoot) -> [(path: String, entry: CacheEntry)] {
        readAllReportingDenied(root: root).entries
    }

    /// The entries, and the files that could not be read for lack of permission (the cache is
    /// 0600 root: without root, pods are invisible, which is not the same as absent).
    public static func readAllReportingDenied(root: NodeRoot) -> (entries: [(path: String, entry: CacheEntry)], denied: [String]) {
        // Names only: reading refuses what is not a regular file.
        let listing = list(root: root, withStatus: false)
        return read(listing.files, root: root, denied: listing.denied)
    }

    /// The cache's files, unread (`denied`: the directory could not be listed for lack of
    /// permission). `withStatus: false`: names only, not checked to be regular files (reading one
    /// refuses anything else).
    public static func list(root: NodeRoot, withStatus: Bool = true) -> (files: [DirectoryEntry], denied: [String]) {
        do {
            return (try root.list(resultsDirectory, withStatus: withStatus).filter { !withStatus || $0.status?.isRegularFile == true }, [])
        } catch {
            return ([], error.reason == .permissionDenied ? [resultsDirectory] : [])
        }
    }

    /// The sandbox ID in a cache file's name, as libcni names it (`NETWORK-CONTAINERID-IFNAME`):
    /// the part of 64 hex digits; nil for any other name (then only its content says whose it is).
    public static func containerID(inFileName name: String) -> String? {
        name.split(separator: "-").first {
            $0.utf8.count == 64 && $0.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        }
        .map(String.init)
    }

    /// Parses the given files; those that could not be read for lack of permission are listed.
    public static func read(
        _ files: [DirectoryEntry], root: NodeRoot, denied: [String] = []
    ) -> (entries: [(path: String, entry: CacheEntry)], denied: [String]) {
        let read = readPart(files.map(\.name), root: root)
        return (read.entries, denied + read.denied)
    }

    private static func readPart(_ names: [String], root: NodeRoot) -> (entries: [(path: String, entry: CacheEntry)], denied: [String]) {
        var entries: [(String, CacheEntry)] = []
        var denied: [String] = []
        var configs = ConfigMemo()
        // Every file of the listing is in the results directory: opened relative to it.
        for (path, content) in root.readEach(resultsDirectory, names: names) {
            switch content {
            case .success(let bytes): if let entry = parse(bytes: bytes, configs: &configs) { entries.append((path, entry)) }
            case .failure(let error): if error.reason == .permissionDenied { denied.append(path) }
            }
        }
        return (entries, denied)
    }
}

/// An interface of a cached result: `sandbox` is set on the pod side (the namespace path).
public struct CachedInterface: Sendable, Equatable {
    public var name: String?
    public var mac: String?
    public var sandbox: String?
}

/// Standard base64 (as Go marshals []byte), padding optional.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case UInt8(ascii: "="), 0x0A, 0x0D: continue
            default: return nil
            }
            buffer = (buffer << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

import NetAddress
import ConfigFormats
import Diagnosis

/// One file of the conf dir, read as libcni reads it and judged on its own: what it is, whether
/// the runtime can load it, and what is wrong with it. Whether a problem matters depends on
/// whether the runtime uses the file; the detector decides that.
public struct ConfigFileReading: Sendable {
    public var nodePath: String
    public var fileName: String
    public var loaded: LoadedConfig
    public var family: FamilyReading?
    /// Problems found in the file, at the severity they have when the file is the active one.
    public var problems: [Finding]
    /// Set when the file could not be read at all.
    public var readError: String?

    public var network: NetworkConfig? { loaded.network }
    /// Whether libcni loads it (the runtime then calls its plugins).
    public var isLoadable: Bool { readError == nil && loaded.isValid }
    /// Whether it is a usable network config: loadable, with no template placeholder left.
    public var isUsable: Bool { isLoadable && !problems.contains { $0.code == .cniTemplateUnrendered } }

    /// Reads and judges one file's bytes.
    public static func judge(bytes: [UInt8], nodePath: String, context: FamilyContext) -> ConfigFileReading {
        let fileName = String(nodePath.split(separator: "/").last ?? Substring(nodePath))
        return judge(
            bytes: bytes, nodePath: nodePath, loaded: LibCNI.load(bytes: bytes, fileName: intendedName(fileName, bytes: bytes)),
            context: context)
    }

    /// Judges a file already loaded (the detector loads every file first, to know the siblings).
    static func judge(bytes: [UInt8], nodePath: String, loaded: LoadedConfig, context: FamilyContext) -> ConfigFileReading {
        let fileName = String(nodePath.split(separator: "/").last ?? Substring(nodePath))
        var reading = ConfigFileReading(
            nodePath: nodePath, fileName: fileName, loaded: loaded, family: nil,
            problems: [], readError: nil)
        if let network = loaded.network {
            reading.family = CNIFamily.read(network, fileName: fileName, context: context)
        }
        reading.problems = ConfigChecks.problems(of: reading, bytes: bytes)
        return reading
    }

    /// The name a file had before it was renamed away or templated (`10-calico.conflist.cilium_bak`,
    /// `cni.template`), so that its content is read as what it was meant to be.
    static func intendedName(_ fileName: String, bytes: [UInt8]) -> String {
        if LibCNI.isConfigFile(fileName) { return fileName }
        if fileName.contains(".conflist") { return "intended.conflist" }
        if fileName.contains(".conf") || fileName.contains(".json") { return "intended.conf" }
        return String(decoding: bytes, as: UTF8.self).contains("\"plugins\"") ? "intended.conflist" : "intended.conf"
    }

    /// A file that exists but could not be read.
    public static func unreadable(nodePath: String, error: String) -> ConfigFileReading {
        let fileName = String(nodePath.split(separator: "/").last ?? Substring(nodePath))
        var reading = ConfigFileReading(
            nodePath: nodePath, fileName: fileName,
            loaded: LoadedConfig(network: nil, error: LoadError(message: error, position: nil), strict: false),
            family: nil, problems: [], readError: error)
        reading.problems = [NodeFileUnreadable.configFile(nodePath, error)]
        return reading
    }
}

/// Checks on one configuration file, independent of the rest of the node.
enum ConfigChecks {
    /// Plugins that only modify what an interface plugin made; alone they give a pod nothing.
    static let metaPlugins: Set<String> = ["tuning", "portmap", "bandwidth", "firewall", "sbr", "vrf", "egress-cni", "egress-v4-cni"]
    /// Interface plugins that need an IPAM section to give the pod an address.
    static let pluginsNeedingIPAM: Set<String> = ["bridge", "ptp", "macvlan", "ipvlan"]
    /// Pod networks whose manifests chain portmap for hostPort.
    static let portmapFamilies: Set<String> = [
        "flannel", "canal", "calico", "weave", "kube-router", "kindnet", "gke-netd",
        "antrea", "aws-vpc-cni", "containerd-net",
    ]
    /// Plugins that parse a string mtu themselves.
    static let stringMTUPlugins: Set<String> = ["aws-cni", "egress-cni", "egress-v4-cni"]

    static func problems(of reading: ConfigFileReading, bytes: [UInt8]) -> [Finding] {
        var found: [Finding] = []
        let file = reading.nodePath
        if let error = reading.loaded.error { found.append(ConfigInvalid.notLoadable(file, error)) }
        let placeholders = Placeholders.find(in: bytes)
        if !placeholders.isEmpty {
            found.append(
                Finding(
                    .cniTemplateUnrendered, .error,
                    "\(file) still holds template placeholders: its values are not what the installer meant.",
                    hop: file, evidence: placeholders.prefix(4).map { "\(file):\($0.line): \($0.text)" },
                    remedy: "Let the CNI's installer render the file, or fill in the values."))
        }
        guard let network = reading.network else { return found }
        found += versionProblems(network, file: file, strict: reading.loaded.strict)
        found += repeatedKeyProblems(network.raw, path: "", file: file)
        found += mtuProblems(network, family: reading.family, file: file)
        found += PluginRules.problems(network, file: file)
        found += chainProblems(network, family: reading.family, file: file)
        found += subnetProblems(reading.family?.subnets ?? [], file: file)
        found += pluginKeyProblems(network, family: reading.family, file: file)
        for (i, plugin) in network.plugins.enumerated() where plugin.raw["capabilities"]?["snat"] != nil {
            found.append(
                Finding(
                    .cniConfigSuspicious, .info,
                    "plugins[\(i)] (\(plugin.type ?? "?")) puts snat inside capabilities, where it means nothing.",
                    hop: file, evidence: ["plugins[\(i)].capabilities.snat"],
                    remedy: "portmap's snat option is a top-level key of the plugin: move it there."))
        }
        return found
    }

    static func pluginKeyProblems(_ network: NetworkConfig, family: FamilyReading?, file: String) -> [Finding] {
        var found: [Finding] = []
        for (i, plugin) in network.plugins.enumerated() {
            if plugin.raw["runtimeConfig"] != nil {
                found.append(
                    Finding(
                        .cniConfigSuspicious, .info,
                        "plugins[\(i)] (\(plugin.type ?? "?")) has a static runtimeConfig: the runtime normally injects it per pod from capabilities, and this one applies to every pod.",
                        hop: file,
                        evidence: ["plugins[\(i)].runtimeConfig: \(JSONWriter.write(plugin.raw["runtimeConfig"]!, pretty: false))"],
                        remedy:
                            "Declare the capability (e.g. \"capabilities\": {\"bandwidth\": true}) and let pod annotations set the values.")
                )
            }
            if let ipam = plugin.raw.field("ipam")?.object, ipam.members.isEmpty {
                found.append(
                    Finding(
                        .cniConfigSuspicious, .info,
                        "plugins[\(i)] (\(plugin.type ?? "?")) has an empty ipam section: addresses come from the plugin's own controller, not an IPAM plugin.",
                        hop: file, evidence: ["plugins[\(i)].ipam: {}"]))
            }
        }
        // Products that moved to .conflist: a leftover single-plugin file sorts before the new
        // one ("05-cilium-cni.conf" < "05-cilium.conflist", "10-weave.conf" < "10-weave.conflist").
        if network.fromSinglePlugin, let name = family?.family, ["cilium", "weave"].contains(name) {
            found.append(
                Finding(
                    .cniConfigSuspicious, .warning,
                    "\(file) is a legacy single-plugin .conf of \(name), which now writes a .conflist; a leftover .conf sorts before it and wins.",
                    hop: file, evidence: ["single-plugin config of type \(network.types.first ?? "?")"],
                    remedy: "Remove it if \(name) has written its .conflist."))
        }
        if family?.family == "multus", let delegate = network.primary?.raw["delegates"]?.array?.first?.object {
            let inner = NetworkConfig(document: delegate, asList: delegate.field("plugins") != nil)
            found += mtuProblems(inner, family: nil, file: file).map { $0.about("delegates[0]") }
        }
        return found
    }

    static func versionProblems(_ network: NetworkConfig, file: String, strict: Bool) -> [Finding] {
        var found: [Finding] = []
        let chained = network.plugins.count > 1
        guard let version = network.cniVersion else {
            found.append(
                chained
                    ? VersionUnsupported.missingForChain(file)
                    : Finding(
                        .cniConfigSuspicious, .info, "\(file) has no cniVersion: libcni treats it as 0.1.0.",
                        hop: file, evidence: ["no top-level \"cniVersion\""],
                        remedy: "Add \"cniVersion\": \"1.0.0\" (or the highest the installed plugins support)."))
            return found
        }
        if !LibCNI.supportedVersions.contains(version) {
            found.append(VersionUnsupported.unknownToLibCNI(file, version: version))
        } else if chained && LibCNI.versionLess(version, "0.3.0") {
            found.append(VersionUnsupported.tooOldForChain(file, version: version, types: network.types))
        }
        if !network.cniVersions.isEmpty {
            found.append(
                Finding(
                    .cniConfigSuspicious, .info,
                    "\(file) lists cniVersions (spec 1.1): libcni 1.2 or later picks the highest it supports; older runtimes use cniVersion \(version).",
                    hop: file, evidence: ["\"cniVersions\": [\(network.cniVersions.joined(separator: ", "))]"]))
        }
        return found
    }

    /// At most this many repeated keys are reported per object, and this many places each: a
    /// file of 45,000 repeated keys is one finding of bounded size, in linear time.
    static let repeatedKeysReported = 16
    static let placesReported = 8

    static func repeatedKeyProblems(_ object: ConfigObject, path: String, file: String) -> [Finding] {
        var found: [Finding] = []
        var byKey: [String: [ConfigObject.Member]] = [:]
        for member in object.members { byKey[member.key, default: []].append(member) }
        let repeated = object.keys.filter { (byKey[$0]?.count ?? 0) > 1 }
        for key in repeated.prefix(repeatedKeysReported) {
            let members = byKey[key] ?? []
            var evidence = members.prefix(placesReported).map {
                "\(file):\($0.line): \"\(Printable.line(key))\": \(Printable.line(JSONWriter.write($0.value, pretty: false), limit: 120))"
            }
            if members.count > placesReported { evidence.append("… \(members.count - placesReported) more") }
            found.append(
                Finding(
                    .cniConfigSuspicious, .warning,
                    "\(file) sets \(path)\(Printable.line(key)) \(members.count) times; libcni (Go) keeps the last value, other parsers may not.",
                    hop: file, evidence: evidence, remedy: "Keep one \"\(Printable.line(key))\"."))
        }
        if repeated.count > repeatedKeysReported {
            found.append(
                Finding(
                    .cniConfigSuspicious, .warning,
                    "\(file) repeats \(repeated.count - repeatedKeysReported) more keys in \(path.isEmpty ? "the top level" : path).",
                    hop: file, remedy: "Keep one of each key."))
        }
        for member in object.members {
            if let inner = member.value.object {
                found += repeatedKeyProblems(inner, path: path + member.key + ".", file: file)
            }
            for (i, element) in (member.value.array ?? []).enumerated() {
                if let inner = element.object {
                    found += repeatedKeyProblems(inner, path: "\(path)\(member.key)[\(i)].", file: file)
                }
            }
        }
        return found
    }

    static func mtuProblems(_ network: NetworkConfig, family: FamilyReading?, file: String) -> [Finding] {
        var found: [Finding] = []
        for (i, plugin) in network.plugins.enumerated() {
            guard let mtu = plugin.mtu else { continue }
            if mtu.writtenAsString, mtu.value != nil {
                let tolerated = stringMTUPlugins.contains(plugin.type ?? "")
                found.append(
                    Finding(
                        .cniConfigSuspicious, tolerated ? .info : .warning,
                        "plugins[\(i)] (\(plugin.type ?? "?")) gives mtu as a string \"\(mtu.text)\"\(tolerated ? "; \(plugin.type!) parses it" : ": most plugins expect a number and fail")",
                        hop: file, evidence: ["\"mtu\": \"\(mtu.text)\""], remedy: "Write \"mtu\": \(mtu.text)."))
            }
            if let value = mtu.value, value > 0, value < 1280 {
                found.append(
                    Finding(
                        .cniMTUTooSmall, .warning,
                        "plugins[\(i)] (\(plugin.type ?? "?")) sets mtu \(value), unusually small: IPv6 needs 1280 and throughput suffers.",
                        hop: file, evidence: ["\"mtu\": \(mtu.text)"],
                        remedy: "Use the largest MTU the path carries (netdoctor mtu-probe measures it)."))
            }
        }
        return found
    }

    static func chainProblems(_ network: NetworkConfig, family: FamilyReading?, file: String) -> [Finding] {
        var found: [Finding] = []
        let types = network.types
        guard let first = types.first else { return found }
        if metaPlugins.contains(first) {
            found.append(
                Finding(
                    .cniChainIncomplete, .error,
                    "\(file) starts with \(first), a meta plugin: alone it creates no interface and no address.",
                    hop: file, evidence: ["plugins: \(types.joined(separator: " → "))"],
                    remedy: "Put an interface plugin (bridge, ptp, the CNI's own) first and chain \(first) after it."))
        }
        if let primary = network.primary, pluginsNeedingIPAM.contains(first) {
            if primary.ipamType == nil {
                found.append(
                    Finding(
                        .cniChainIncomplete, .error, "\(first) in \(file) has no ipam section: pods get no address.",
                        hop: file, evidence: ["plugins[0] has no \"ipam\".type"],
                        remedy: "Add an ipam section (host-local with the node's pod subnet)."))
            } else if primary.ipamType == "host-local", primary.subnets.isEmpty,
                primary.raw.field("ipam")?.field("ranges") == nil
            {
                found.append(
                    Finding(
                        .cniChainIncomplete, family?.family == "kube-router" ? .warning : .error,
                        "host-local in \(file) has no subnet or ranges\(family?.family == "kube-router" ? " yet (kube-router inserts the node's podCIDR when it starts)" : ""): it cannot allocate addresses.",
                        hop: file, evidence: ["ipam: {\"type\": \"host-local\"} without subnet/ranges"],
                        remedy: "Give host-local the node's pod subnet, or start the agent that fills it in."))
            }
        }
        // Products whose hostPort support is the portmap plugin; cilium, OVN and others do it themselves.
        if let family = family?.family, portmapFamilies.contains(family), !types.contains("portmap") {
            found.append(
                Finding(
                    .cniChainIncomplete, .info, "\(file) chains no portmap plugin: hostPort does not work for its pods.",
                    hop: file, evidence: ["plugins: \(types.joined(separator: " → "))"],
                    remedy: "Append {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}} if pods use hostPort."))
        }
        return found
    }

    static func subnetProblems(_ subnets: [String], file: String) -> [Finding] {
        subnets.compactMap { subnet in
            guard let prefix = IPPrefix.parse(subnet) else { return nil }
            guard !prefix.isPrivateRange else { return nil }
            return Finding(
                .cniConfigSuspicious, .warning,
                "The pod subnet \(subnet) in \(file) is not a private address range: pods may shadow real hosts.",
                hop: file, evidence: ["ipam subnet \(subnet)"],
                remedy: "Use a private range (RFC 1918, or an IPv6 ULA fd00::/8).")
        }
    }
}

/// Unrendered template markers: `__NAME__`, `{{ … }}`, `${name}`, and `$1` or `@name` outside a
/// string. Scans bytes once: conf dirs can hold hundreds of files.
enum Placeholders {
    static func find(in bytes: [UInt8]) -> [(line: Int, text: String)] {
        var found: [(Int, String)] = []
        var lineNumber = 1
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == 0x0A {
            if start < i, hasPlaceholder(bytes[start..<i]) {
                found.append((lineNumber, String(decoding: bytes[start..<i], as: UTF8.self).trimmingCharacters()))
            }
            lineNumber += 1
            start = i + 1
        }
        return found
    }

    private static func hasPlaceholder(_ line: ArraySlice<UInt8>) -> Bool {
        var inString = false
        var previous: UInt8 = 0
        var i = line.startIndex
        while i < line.endIndex {
            let c = line[i]
            let next: UInt8 = i + 1 < line.endIndex ? line[i + 1] : 0
            if c == UInt8(ascii: "\""), previous != UInt8(ascii: "\\") { inString.toggle() }
            if c == UInt8(ascii: "{"), next == UInt8(ascii: "{") { return true }
            if c == UInt8(ascii: "$"), next == UInt8(ascii: "{") { return true }
            if !inString, c == UInt8(ascii: "$") || c == UInt8(ascii: "@") { return true }
            if c == UInt8(ascii: "_"), next == UInt8(ascii: "_"), isDunder(line, from: i) { return true }
            previous = c
            i += 1
        }
        return false
    }

    /// `__UPPER_CASE__`, as calico and aws-vpc-cni templates write placeholders.
    private static func isDunder(_ line: ArraySlice<UInt8>, from start: Int) -> Bool {
        var j = start + 2
        guard j < line.endIndex, line[j] >= UInt8(ascii: "A"), line[j] <= UInt8(ascii: "Z") else { return false }
        while j < line.endIndex,
            (line[j] >= UInt8(ascii: "A") && line[j] <= UInt8(ascii: "Z")) || line[j] == UInt8(ascii: "_")
                || (line[j] >= UInt8(ascii: "0") && line[j] <= UInt8(ascii: "9"))
        { j += 1 }
        return j - start >= 5 && line[j - 1] == UInt8(ascii: "_") && line[j - 2] == UInt8(ascii: "_")
    }
}

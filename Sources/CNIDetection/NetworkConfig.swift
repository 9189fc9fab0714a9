import ConfigFormats

/// One plugin entry of a network configuration, with the keys netdoctor reasons about pulled
/// out and the whole object kept.
public struct PluginConfig: Sendable, Equatable {
    public var type: String?
    public var ipamType: String?
    /// The `mtu` key as written: a number, or a string that aws-cni and others parse.
    public var mtu: MTUSetting?
    public var subnets: [String]
    public var bridge: String?
    public var raw: ConfigObject

    init(_ object: ConfigObject) {
        raw = object
        // Plugins decode their config into Go structs: field names match case-insensitively.
        type = object.field("type")?.string
        let ipam = object.field("ipam")?.object
        ipamType = ipam?.field("type")?.string
        mtu = object.field("mtu").flatMap(MTUSetting.init)
        bridge = object.field("bridge")?.string
        subnets = ipam.map(Self.subnets(inIPAM:)) ?? []
    }

    /// `subnet`, and `ranges` as host-local writes them: a list of range sets, each a list of
    /// `{subnet}` objects.
    static func subnets(inIPAM ipam: ConfigObject) -> [String] {
        var found: [String] = []
        if let s = ipam.field("subnet")?.string { found.append(s) }
        for set in ipam.field("ranges")?.array ?? [] {
            for range in set.array ?? [set] {
                if let s = range.field("subnet")?.string, !found.contains(s) { found.append(s) }
            }
        }
        // An unrendered template leaves blanks where the node's subnet goes.
        return found.filter { !$0.trimmingCharacters().isEmpty }
    }
}

/// An `mtu` value: numbers are what libcni's plugins expect, but aws-cni writes `"9001"`.
public struct MTUSetting: Sendable, Equatable {
    public var value: Int?
    public var writtenAsString: Bool
    public var text: String

    init?(_ value: ConfigValue) {
        switch value {
        case .number(_, let text):
            self.value = value.int
            writtenAsString = false
            self.text = text
        case .string(let s):
            self.value = Int(s.trimmingCharacters())
            writtenAsString = true
            text = s
        default:
            return nil
        }
    }
}

/// A network configuration as libcni sees it: a list of plugins under a name and version.
public struct NetworkConfig: Sendable, Equatable {
    public var name: String?
    public var cniVersion: String?
    public var cniVersions: [String]
    public var plugins: [PluginConfig]
    /// Whether the file was a single-plugin `.conf`/`.json` turned into a list.
    public var fromSinglePlugin: Bool
    public var raw: ConfigObject

    public var types: [String] { plugins.compactMap(\.type) }
    public var primary: PluginConfig? { plugins.first }

    /// Reads a parsed document as libcni would read a file of this kind, without judging it.
    init(document object: ConfigObject, asList: Bool) {
        raw = object
        name = object.field("name")?.string
        cniVersion = object.field("cniVersion")?.string
        cniVersions = object.field("cniVersions")?.array?.compactMap(\.string) ?? []
        if asList {
            plugins = (object.field("plugins")?.array ?? []).compactMap { $0.object.map(PluginConfig.init) }
            fromSinglePlugin = false
        } else if object.field("type") != nil || object.field("plugins") == nil {
            plugins = [PluginConfig(object)]
            fromSinglePlugin = true
        } else {
            // A conflist in a .conf file: libcni rejects it, but its intent is the list.
            plugins = (object.field("plugins")?.array ?? []).compactMap { $0.object.map(PluginConfig.init) }
            fromSinglePlugin = false
        }
    }
}

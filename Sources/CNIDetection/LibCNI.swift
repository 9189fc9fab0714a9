import ConfigFormats

/// What libcni accepts, and how it loads a file: the rules the runtime applies before a single
/// plugin runs (gh:containernetworking/cni libcni/conf.go, pkg/version).
public enum LibCNI {
    /// The extensions libcni's ConfFiles matches exactly (filepath.Ext).
    public static let configExtensions = [".conf", ".conflist", ".json"]

    /// Versions libcni knows (pkg/version/version.go).
    public static let supportedVersions = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]

    /// The extension as Go's filepath.Ext gives it: from the last dot of the base name.
    public static func fileExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[dot...])
    }

    public static func isConfigFile(_ name: String) -> Bool {
        configExtensions.contains(fileExtension(name))
    }

    /// Loads a file's bytes as libcni would: `.conflist` with ConfListFromBytes, the others with
    /// ConfFromBytes then ConfListFromConf. On failure the error reads like libcni's, and the
    /// lenient reading still says what the file meant.
    public static func load(bytes: [UInt8], fileName: String) -> LoadedConfig {
        let asList = fileExtension(fileName) == ".conflist"
        do {
            let value = try JSONParser.parse(bytes: bytes)
            guard let object = value.object else {
                let message =
                    "json: cannot unmarshal \(value.kindName.split(separator: " ").last ?? "value") into Go value of type map[string]interface {}"
                return LoadedConfig(network: nil, error: .init(message: message, position: nil), strict: true)
            }
            let network = NetworkConfig(document: object, asList: asList)
            return LoadedConfig(network: network, error: validate(object, asList: asList), strict: true)
        } catch {
            let prefix = asList ? "error parsing configuration list" : "error parsing configuration"
            let lenient = try? JSONParser.parse(bytes: bytes, mode: .lenient)
            let network = lenient?.object.map { NetworkConfig(document: $0, asList: asList) }
            return LoadedConfig(
                network: network,
                error: .init(message: "\(prefix): \(error.message)", position: (error.line, error.column)),
                strict: false)
        }
    }

    static func validate(_ object: ConfigObject, asList: Bool) -> LoadError? {
        if asList {
            let prefix = "error parsing configuration list"
            guard let name = object.field("name") else { return .init(message: "\(prefix): no name", position: nil) }
            guard name.string != nil else { return .init(message: "\(prefix): invalid name type \(goType(name))", position: nil) }
            if let v = object.field("cniVersion"), v.string == nil {
                return .init(message: "\(prefix): invalid cniVersion type \(goType(v))", position: nil)
            }
            if let d = object.field("disableCheck"), d.bool == nil, !["true", "false"].contains(d.string?.lowercased() ?? "") {
                return .init(message: "\(prefix): invalid disableCheck value \(goType(d))", position: nil)
            }
            guard let plugins = object.field("plugins") else { return .init(message: "\(prefix): no 'plugins' key", position: nil) }
            guard let list = plugins.array else {
                return .init(message: "\(prefix): invalid 'plugins' type \(goType(plugins))", position: nil)
            }
            if list.isEmpty { return .init(message: "\(prefix): no plugins in list", position: nil) }
            for (i, plugin) in list.enumerated() {
                guard let p = plugin.object else {
                    return .init(
                        message:
                            "failed to parse plugin config \(i): json: cannot unmarshal \(goType(plugin)) into Go value of type map[string]interface {}",
                        position: nil)
                }
                if let problem = validatePlugin(p) {
                    return .init(message: "failed to parse plugin config \(i): \(problem)", position: nil)
                }
            }
            return nil
        }
        if let problem = validatePlugin(object) { return .init(message: problem, position: nil) }
        return nil
    }

    static func validatePlugin(_ object: ConfigObject) -> String? {
        guard let type = object.field("type") else { return "error parsing configuration: missing 'type'" }
        guard type.string != nil else {
            return "error parsing configuration: json: cannot unmarshal \(goType(type)) into Go struct field NetConf.type of type string"
        }
        return nil
    }

    private static func goType(_ value: ConfigValue) -> String {
        switch value {
        case .null: "<nil>"
        case .bool: "bool"
        case .number: "float64"
        case .string: "string"
        case .array, .generated: "[]interface {}"
        case .object: "map[string]interface {}"
        }
    }

    /// The version libcni uses for a list: with `cniVersions`, the highest it supports.
    public static func effectiveVersion(_ network: NetworkConfig) -> String? {
        let candidates = network.cniVersions.filter { supportedVersions.contains($0) }
        if let best = candidates.max(by: { versionLess($0, $1) }) { return best }
        return network.cniVersion
    }

    public static func versionLess(_ a: String, _ b: String) -> Bool {
        let pa = a.split(separator: ".").map { Int($0) ?? 0 }
        let pb = b.split(separator: ".").map { Int($0) ?? 0 }
        return pa.lexicographicallyPrecedes(pb)
    }
}

/// Why libcni refuses a file, with a position when the JSON itself is broken.
public struct LoadError: Sendable, Equatable {
    public var message: String
    public var position: (line: Int, column: Int)?

    public static func == (a: LoadError, b: LoadError) -> Bool {
        a.message == b.message && a.position?.line == b.position?.line && a.position?.column == b.position?.column
    }
}

/// The outcome of loading one file: the network (strict, or recovered leniently) and libcni's error.
public struct LoadedConfig: Sendable, Equatable {
    public var network: NetworkConfig?
    public var error: LoadError?
    /// Whether the JSON itself was valid (the network came from a strict parse).
    public var strict: Bool

    public var isValid: Bool { error == nil && network != nil }
}

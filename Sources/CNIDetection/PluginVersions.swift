import ConfigFormats
import Diagnosis
import NodeFiles

/// Asks the installed plugins which CNI versions they support, as libcni's ValidateNetworkList
/// does (CNI_COMMAND=VERSION: read-only by the spec), so an incompatible cniVersion is caught
/// before a pod fails with "incompatible CNI versions".
enum PluginVersions {
    /// Each plugin's answer time, and the whole query's: 50 plugins that sleep cost 3 s, not 100.
    static let perPluginMilliseconds: Int32 = 2000
    static let budgetMilliseconds: Int64 = 3000

    static func supported(binary nodePath: String, version: String, root: NodeRoot, timeoutMilliseconds: Int32) -> [String]? {
        guard let host = try? root.resolve(nodePath) else { return nil }
        let input = Array("{\"cniVersion\":\"\(version)\"}".utf8)
        guard
            let result = ChildProcess.run(
                host, environment: ["CNI_COMMAND=VERSION", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                input: input, timeoutMilliseconds: timeoutMilliseconds, endGroup: true),
            result.status == 0, !result.timedOut,
            let answer = try? JSONParser.parse(bytes: result.output)
        else { return nil }
        return answer["supportedVersions"]?.array?.compactMap(\.string)
    }

    /// The chain's plugins that refuse the network's version, as each answers CNI_COMMAND=VERSION
    /// (a fact: VersionUnsupported judges it); nil when the network names no version.
    static func refusing(_ network: NetworkConfig, binaries: BinaryLookup) -> (version: String, plugins: [RefusingPlugin])? {
        guard let version = LibCNI.effectiveVersion(network) else { return nil }
        var refusing: [RefusingPlugin] = []
        let deadline = ChildProcess.monotonicMilliseconds() + budgetMilliseconds
        for type in BinaryLookup.requiredTypes(network) {
            let left = deadline - ChildProcess.monotonicMilliseconds()
            guard left > 0 else { break }
            guard case .found(let path) = binaries.find(type),
                let supported = supported(
                    binary: path, version: version, root: binaries.root,
                    timeoutMilliseconds: Int32(min(Int64(perPluginMilliseconds), left))),
                !supported.contains(version)
            else { continue }
            refusing.append(RefusingPlugin(type: type, path: path, supported: supported))
        }
        return (version, refusing)
    }
}

/// A plugin that answered CNI_COMMAND=VERSION without the network's version.
struct RefusingPlugin: Sendable {
    var type: String
    var path: String
    var supported: [String]
}

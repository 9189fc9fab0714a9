import ConfigFormats
import Diagnosis
import NodeFiles

/// Asks the installed plugins which CNI versions they support, as libcni's ValidateNetworkList
/// does (CNI_COMMAND=VERSION: read-only by the spec), so an incompatible cniVersion is caught
/// before a pod fails with "incompatible CNI versions".
enum PluginVersions {
    static func supported(binary nodePath: String, version: String, root: NodeRoot) -> [String]? {
        guard let host = try? root.resolve(nodePath) else { return nil }
        let input = Array("{\"cniVersion\":\"\(version)\"}".utf8)
        guard let result = ChildProcess.run(host, environment: ["CNI_COMMAND=VERSION", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                                            input: input, timeoutMilliseconds: 2000),
              result.status == 0, !result.timedOut,
              let answer = try? JSONParser.parse(bytes: result.output) else { return nil }
        return answer["supportedVersions"]?.array?.compactMap(\.string)
    }

    /// CNI_VERSION_UNSUPPORTED for each plugin of the chain that does not support the version.
    static func check(_ network: NetworkConfig, file: String, binaries: BinaryLookup) -> [Finding] {
        guard let version = LibCNI.effectiveVersion(network) else { return [] }
        var findings: [Finding] = []
        for type in BinaryLookup.requiredTypes(network) {
            guard case .found(let path) = binaries.find(type),
                  let supported = supported(binary: path, version: version, root: binaries.root),
                  !supported.contains(version) else { continue }
            findings.append(Finding(.cniVersionUnsupported, .error,
                                    "The installed \(type) does not support cniVersion \(version): every pod fails with \"incompatible CNI versions\".",
                                    hop: file, evidence: ["\(path) (CNI_COMMAND=VERSION) supports \(supported.joined(separator: ", "))"],
                                    remedy: "Set cniVersion to \(supported.last ?? "a supported version"), or upgrade the plugins."))
        }
        return findings
    }
}

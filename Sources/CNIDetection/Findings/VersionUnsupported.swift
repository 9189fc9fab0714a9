import Diagnosis

/// CNI_VERSION_UNSUPPORTED, built here only: a cniVersion libcni does not know, one too old for
/// a chain (or none, which libcni reads as 0.1.0), or one the installed plugins refuse.
enum VersionUnsupported {
    static func missingForChain(_ file: String) -> Finding {
        Finding(
            .cniVersionUnsupported, .error, "\(file) has no cniVersion: libcni treats it as 0.1.0, too old for a plugin chain.",
            hop: file, evidence: ["no top-level \"cniVersion\""],
            remedy: "Add \"cniVersion\": \"1.0.0\" (or the highest the installed plugins support).")
    }

    static func unknownToLibCNI(_ file: String, version: String) -> Finding {
        Finding(
            .cniVersionUnsupported, .error, "\(file) asks for cniVersion \(version), which libcni does not know.",
            hop: file, evidence: ["\"cniVersion\": \"\(version)\"", "libcni accepts \(LibCNI.supportedVersions.joined(separator: " "))"],
            remedy: "Use one of \(LibCNI.supportedVersions.joined(separator: ", ")) that the plugins support.")
    }

    static func tooOldForChain(_ file: String, version: String, types: [String]) -> Finding {
        Finding(
            .cniVersionUnsupported, .error,
            "\(file) chains \(types.count) plugins at cniVersion \(version); chaining needs 0.3.0 or later (prevResult).",
            hop: file, evidence: ["\"cniVersion\": \"\(version)\"", "plugins: \(types.joined(separator: ", "))"],
            remedy: "Raise cniVersion to 0.3.1 or later.")
    }

    /// One finding for every plugin of the chain that refuses the version, a line of evidence each.
    static func refusedByPlugins(_ file: String, version: String, refusing: [RefusingPlugin]) -> Finding {
        let best = refusing.map { Set($0.supported) }.reduce(Set(LibCNI.supportedVersions)) { $0.intersection($1) }
            .max(by: LibCNI.versionLess)
        return Finding(
            .cniVersionUnsupported, .error,
            "The installed \(refusing.map(\.type).joined(separator: ", ")) \(refusing.count == 1 ? "does" : "do") not support cniVersion \(version): every pod fails with \"incompatible CNI versions\".",
            hop: file, evidence: refusing.map { "\($0.path) (CNI_COMMAND=VERSION) supports \($0.supported.joined(separator: ", "))" },
            remedy: "Set cniVersion to \(best ?? "a version they support"), or upgrade the plugins.")
    }
}

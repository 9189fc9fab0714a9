import NodeFiles

/// Finds plugin executables in the runtime's bin dirs, as libcni's FindInPath does: the first
/// directory that holds a file of that name wins, and it must be executable.
public struct BinaryLookup: Sendable {
    public let root: NodeRoot
    public let directories: [String]

    /// IPAM types that the main plugin handles itself, with no binary of their own: Azure's CNS
    /// mode is served by azure-vnet talking to the CNS daemon.
    static let inProcessIPAM: Set<String> = ["azure-cns"]

    public enum Outcome: Sendable, Equatable {
        case found(path: String)
        case notExecutable(path: String)
        case missing
    }

    public func find(_ type: String) -> Outcome {
        // A type with a slash would escape the bin dir; libcni refuses it too.
        guard !type.isEmpty, !type.contains("/") else { return .missing }
        var nonExecutable: String? = nil
        for dir in directories {
            let path = NodeRoot.join(dir, type)
            guard let status = root.status(path), status.isRegularFile else { continue }
            if status.isExecutable { return .found(path: path) }
            nonExecutable = nonExecutable ?? path
        }
        return nonExecutable.map { .notExecutable(path: $0) } ?? .missing
    }

    /// The binaries a network needs: every plugin type, and every IPAM type not served in-process.
    public static func requiredTypes(_ network: NetworkConfig, delegate: [String] = []) -> [String] {
        var types: [String] = []
        for plugin in network.plugins {
            if let t = plugin.type, !types.contains(t) { types.append(t) }
            if let ipam = plugin.ipamType, !inProcessIPAM.contains(ipam), !types.contains(ipam) { types.append(ipam) }
        }
        for t in delegate where !types.contains(t) { types.append(t) }
        return types
    }

    public func missing(_ types: [String]) -> [(type: String, outcome: Outcome)] {
        types.compactMap { type in
            let outcome = find(type)
            if case .found = outcome { return nil }
            return (type, outcome)
        }
    }
}

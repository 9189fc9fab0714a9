import CNIDetection
import KernelState
import NetAddress
import NetSystem
import NodeFiles

/// A pod on this node, as libcni's result cache records it.
public struct Pod: Sendable, Equatable {
    public var namespace: String?
    public var name: String
    /// The sandbox (pause container) ID.
    public var containerID: String
    /// Interfaces of the pod from every network (eth0 first).
    public var attachments: [CacheEntry]
    /// The netns path as the runtime recorded it; nil in caches older than libcni 1.2.
    public var netnsPath: String?

    public var fullName: String { namespace.map { "\($0)/\(name)" } ?? name }
    public var primary: CacheEntry { attachments.first { $0.ifName == "eth0" } ?? attachments[0] }
    /// Addresses without prefix length, every attachment's.
    public var addresses: [IPAddress] {
        attachments.flatMap(\.ips).compactMap { IPAddress.parse(String($0.split(separator: "/")[0])) }
    }
}

/// Why a pod could not be resolved, with the contract's exit status.
public struct PodLookupError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unknown, ambiguous, namespaceGone, permissionDenied }
    public var kind: Kind
    public var message: String
    public var description: String { message }

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}

/// The pods of a node, read from `var/lib/cni/results` under --root.
public struct PodDirectory: Sendable {
    public let pods: [Pod]
    /// Cache files that could not be read for lack of permission.
    public let denied: [String]

    /// A directory of the given pods (none: for commands that name no pod).
    public init(pods: [Pod]) {
        self.pods = pods
        denied = []
    }

    public init(root: NodeRoot) {
        var byContainer: [String: Pod] = [:]
        var order: [String] = []
        let cache = CacheEntry.readAllReportingDenied(root: root)
        denied = cache.denied
        for (_, entry) in cache.entries {
            guard entry.kind == "cniCacheV1", let id = entry.containerID, let name = entry.podName else { continue }
            if byContainer[id] == nil {
                order.append(id)
                byContainer[id] = Pod(namespace: entry.podNamespace, name: name, containerID: id, attachments: [], netnsPath: nil)
            }
            byContainer[id]!.attachments.append(entry)
            if byContainer[id]!.netnsPath == nil { byContainer[id]!.netnsPath = entry.netns }
        }
        pods = order.map { byContainer[$0]! }
    }

    /// `pod-a`, `NAMESPACE/pod-a`, or one of the pod's IPs.
    public func find(_ query: String) throws(PodLookupError) -> Pod {
        let matches: [Pod]
        if let address = IPAddress.parse(query) {
            matches = pods.filter { $0.addresses.contains(address) }
        } else if query.contains("/") {
            matches = pods.filter { $0.fullName == query }
        } else {
            matches = pods.filter { $0.name == query }
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty, let first = denied.first {
            throw PodLookupError(kind: .permissionDenied,
                                 message: "cannot read the CNI result cache (\(first): permission denied): run as root to find pods")
        }
        if matches.isEmpty {
            let known = pods.prefix(8).map(\.fullName).joined(separator: ", ")
            throw PodLookupError(kind: .unknown,
                                 message: "no pod \(query) on this node" + (pods.isEmpty ? " (the CNI result cache is empty)" : " (pods here: \(known)\(pods.count > 8 ? ", …" : ""))"))
        }
        throw PodLookupError(kind: .ambiguous,
                             message: "\(query) names \(matches.count) pods: \(matches.map(\.fullName).joined(separator: ", ")); say NAMESPACE/NAME")
    }

    /// The pod's network namespace: the cached netns path (under --root first, then as written),
    /// or, for older caches, the namespace that holds the pod's IP.
    public static func namespace(of pod: Pod, directory: NamespaceDirectory) throws(PodLookupError) -> KnownNamespace {
        if let path = pod.netnsPath {
            guard let found = directory.namespace(atNodePath: path) else {
                throw PodLookupError(kind: .namespaceGone,
                                     message: "the network namespace of \(pod.fullName) (\(path)) is gone: the cache entry is stale (the pod was deleted or its sandbox recreated)")
            }
            return found
        }
        let wanted = Set(pod.addresses)
        for candidate in directory.known where candidate.name != "node" {
            guard let opened = try? directory.open(candidate),
                  let state = try? NamespaceReader.read(opened) else { continue }
            if state.addresses.contains(where: { $0.address.map(wanted.contains) == true }) { return candidate }
        }
        throw PodLookupError(kind: .namespaceGone,
                             message: "no network namespace on this node holds \(pod.fullName)'s address \(pod.addresses.map(\.description).joined(separator: ", ")) (the cache has no netns path, and the pod is gone)")
    }
}

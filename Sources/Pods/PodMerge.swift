import CRI
import Diagnosis
import NetAddress
import RuntimeModel

/// The runtime's sandboxes and libcni's cache entries, matched by sandbox ID. The runtime says
/// which pods exist and where their namespaces are; the cache says how each is attached. What
/// one says and the other contradicts becomes a finding, never a guess.
struct PodMerge {
    var pods: [Pod] = []
    var stale: [Pod] = []
    var notes: [PodNote] = []

    /// `cachedIDs`: the sandboxes the cache has entries for, read or not (a runtime's sandbox
    /// outside it has no entry at all); by default those of `cached`.
    init(cached: [Pod], inventory: RuntimeInventory, cachedIDs given: Set<String>? = nil) {
        let sandboxes = Dictionary(inventory.sandboxes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let runtimeName = inventory.runtimeName
        var staleEvidence: [String] = []
        var staleIDs: Set<String> = []
        for pod in cached {
            guard let sandbox = sandboxes[pod.containerID], sandbox.ready else {
                stale.append(pod)
                staleIDs.insert(pod.containerID)
                let state = sandboxes[pod.containerID] == nil ? "unknown to \(runtimeName)" : "not ready"
                staleEvidence.append("\(pod.fullName) sandbox \(pod.containerID.prefix(13)): \(state)")
                continue
            }
            pods.append(Self.pod(sandbox, inventory: inventory, cached: pod))
        }
        let cachedIDs = given ?? Set(cached.map(\.containerID))
        var missing: [String] = []
        var missingIDs: Set<String> = []
        for sandbox in inventory.sandboxes where sandbox.ready && !cachedIDs.contains(sandbox.id) {
            // Host-network pods have neither a namespace of their own nor an IP of the pod network.
            guard sandbox.netnsPath != nil || !sandbox.ips.isEmpty else { continue }
            pods.append(Self.pod(sandbox, inventory: inventory, cached: nil))
            missingIDs.insert(sandbox.id)
            missing.append("\(sandbox.namespace)/\(sandbox.name) sandbox \(sandbox.id.prefix(13)) (\(sandbox.ips.joined(separator: ", ")))")
        }
        for pod in pods where pod.runtime != nil && !pod.attachments.isEmpty {
            if let finding = Self.disagreement(pod) { notes.append(PodNote(sandboxes: [pod.containerID], finding: finding)) }
        }
        if !staleEvidence.isEmpty {
            notes.append(
                PodNote(
                    sandboxes: staleIDs,
                    finding: Finding(
                        .podCacheStale, .warning,
                        "\(staleEvidence.count) libcni cache entr\(staleEvidence.count == 1 ? "y names a sandbox" : "ies name sandboxes") that \(runtimeName) does not run: netdoctor leaves them out.",
                        hop: CacheEntry.resultsDirectory, evidence: Array(staleEvidence.prefix(8)),
                        remedy:
                            "Usually harmless leftovers of pods deleted while the runtime or a plugin failed; their addresses may still be held by IPAM (var/lib/cni/networks). Remove the entries (and IPAM files) of sandboxes crictl pods does not list."
                    )))
        }
        if !missing.isEmpty {
            notes.append(
                PodNote(
                    sandboxes: missingIDs,
                    finding: Finding(
                        .podCacheMissing, .warning,
                        "\(missing.count) running pod\(missing.count == 1 ? " has" : "s have") no libcni cache entry: netdoctor knows their namespace and IPs from \(runtimeName), not which network and interface the CNI gave them.",
                        hop: CacheEntry.resultsDirectory, evidence: Array(missing.prefix(8)),
                        remedy:
                            "Expected for runtimes or CNIs that keep no libcni cache; otherwise the cache dir was cleaned while pods ran."))
            )
        }
    }

    static func pod(_ sandbox: RuntimeSandbox, inventory: RuntimeInventory, cached: Pod?) -> Pod {
        let view = Pod.RuntimeView(
            name: inventory.runtimeName, version: inventory.runtimeVersion, ready: sandbox.ready,
            addresses: sandbox.ips.compactMap(IPAddress.parse))
        return Pod(
            namespace: sandbox.namespace.isEmpty ? nil : sandbox.namespace, name: sandbox.name, containerID: sandbox.id,
            uid: sandbox.uid.isEmpty ? nil : sandbox.uid, attachments: cached?.attachments ?? [], loopback: cached?.loopback,
            netnsPath: sandbox.netnsPath ?? cached?.netnsPath, source: .runtime, runtime: view)
    }

    /// The runtime and the cache must agree on the pod's primary address and its namespace.
    static func disagreement(_ pod: Pod) -> Finding? {
        guard let runtime = pod.runtime else { return nil }
        var evidence: [String] = []
        let cached = Set(pod.attachments.flatMap(\.addresses))
        if let primary = runtime.addresses.first, !cached.isEmpty, !cached.contains(primary) {
            evidence.append(
                "\(runtime.name) gives \(primary); the cache gives \(cached.map(\.description).sorted().joined(separator: ", "))")
        }
        let cachedNetns = Set(pod.attachments.compactMap(\.netns))
        if let netns = pod.netnsPath, !cachedNetns.isEmpty, !cachedNetns.contains(netns) {
            evidence.append("\(runtime.name) gives namespace \(netns); the cache gives \(cachedNetns.sorted().joined(separator: ", "))")
        }
        guard !evidence.isEmpty else { return nil }
        return Finding(
            .podSourcesDisagree, .warning,
            "The runtime and libcni's cache disagree about \(pod.fullName): netdoctor follows the runtime.",
            hop: pod.fullName, evidence: evidence + ["sandbox \(pod.containerID.prefix(13))"],
            remedy:
                "A cache entry from an earlier sandbox of the same ID, or a CNI that changed the pod after ADD; recreate the pod if its network misbehaves."
        )
    }
}

/// A finding of the cross-check and the sandboxes it is about.
public struct PodNote: Sendable {
    public var sandboxes: Set<String>
    public var finding: Finding
}

import KernelState
import Netlink
import NetAddress
import NetlinkCodec
import NetSystem
import Pods

/// This machine's kernel, read through one handle per namespace; with a recorder, every answer
/// is also written down for a replay (scripts/record-path-facts).
public final class LiveNode: NodeAccess, @unchecked Sendable {
    public let directory: NamespaceDirectory
    private let recorder: FactRecorder?
    private var handles: [NetNamespace.Identity: NamespaceHandle] = [:]
    /// The netlink sockets of the namespace netdoctor runs in (the node's): its handle's, and
    /// those of every read of the node that has no handle at hand (kube-proxy's rules, conntrack).
    public let nodeSockets = NetlinkSockets(namespace: nil)
    /// Which namespace other than the node's holds each address, from every handle's state,
    /// built the first time a pod without a namespace path is looked for.
    private var holders: [IPAddress: KnownNamespace]?
    /// Each pod's namespace once found and checked, by sandbox: a command that looks at every
    /// pod twice (check's sweep, then its reverse paths) locates each once.
    private var located: [String: KnownNamespace] = [:]

    /// `recordingTo`: a directory to write the facts into (NETDOCTOR_RECORD_FACTS).
    public init(directory: NamespaceDirectory, recordingTo: String? = nil) {
        self.directory = directory
        recorder = recordingTo.map(FactRecorder.init(directory:))
    }

    public var node: KnownNamespace { directory.node }

    public func open(_ known: KnownNamespace) throws -> any NamespaceAccess { try handle(known) }

    public func handle(_ known: KnownNamespace) throws -> NamespaceHandle {
        if let open = handles[known.identity] { return open }
        let opened = try NamespaceHandle(known, directory: directory, recorder: recorder, nodeSockets: nodeSockets)
        recorder?.record(namespace: known)
        handles[known.identity] = opened
        return opened
    }

    /// Opens (and reads) the handles of `namespaces` not open yet, in two lanes on two namespace
    /// threads, each lane one visit (a sweep of a hundred pods waits on the kernel half as long,
    /// with one setns per namespace). Not when recording (the recorder is written from one thread).
    public func prefetch(_ namespaces: [KnownNamespace]) {
        let wanted = namespaces.filter { !$0.isNode && handles[$0.identity] == nil }
        guard recorder == nil, wanted.count > 1 else { return }
        let lanes = 2
        let directory = self.directory
        let opened = SideBySide.map(Array(0..<lanes)) { lane in
            NamespaceHandle.open(
                stride(from: lane, to: wanted.count, by: lanes).map { wanted[$0] }, directory: directory, recorder: nil,
                thread: .worker(lane))
        }
        for handle in opened.joined() where handles[handle.known.identity] == nil { handles[handle.known.identity] = handle }
    }

    /// The namespace other than the node's whose state holds `address`.
    func holder(of address: IPAddress) -> KnownNamespace? {
        if holders == nil {
            var index: [IPAddress: KnownNamespace] = [:]
            let candidates = directory.known.filter { !$0.isNode }
            prefetch(candidates)
            for candidate in candidates {
                guard let state = try? handle(candidate).state() else { continue }
                for held in state.addresses.compactMap(\.address) where !held.isLoopback && index[held] == nil { index[held] = candidate }
            }
            holders = index
        }
        return holders?[address]
    }

    public func namespace(named name: String) -> KnownNamespace? {
        directory.named(name) ?? directory.known.first { $0.name == name }
    }

    public func namespace(of pod: Pod) throws -> KnownNamespace {
        if let known = located[pod.containerID] { return known }
        // Without a path (libcni before 1.2 writes none), the namespace holding the pod's
        // address, from the states the handles read anyway: each namespace visited once.
        let known = try PodDirectory.locate(pod, directory: directory, holder: holder(of:))
        return try verified(known, holds: pod)
    }

    /// `known`, once its state shows the pod's address (checked on the state read once anyway; a
    /// state that cannot be read here fails again where a command reads it, and is said there).
    private func verified(_ known: KnownNamespace, holds pod: Pod) throws -> KnownNamespace {
        if let state = try? handle(known).state() {
            try PodDirectory.verify(known, holds: pod, addresses: state.addresses.compactMap(\.address))
        }
        recorder?.record(pod: pod, in: known)
        located[pod.containerID] = known
        return known
    }

    /// Every pod's namespace located first, their handles opened and read side by side, then
    /// each checked to hold its pod's address as namespace(of:) checks it.
    public func namespaces(of pods: [Pod]) -> [Result<KnownNamespace, any Error>] {
        let located = pods.map { pod in
            Result { () throws -> KnownNamespace? in
                pod.netnsPath == nil ? nil : try PodDirectory.locate(pod, directory: directory, holder: { _ in nil })
            }
        }
        prefetch(located.compactMap { try? $0.get() })
        return zip(pods, located).map { pod, located in
            Result {
                if let known = self.located[pod.containerID] { return known }
                guard let known = try located.get() else { return try namespace(of: pod) }
                return try verified(known, holds: pod)
            }
        }
    }

    /// Keeps what a caller gathered beside the kernel's answers (a trace's ends, its probe), when
    /// recording.
    /// The bytes are made only when recording.
    public func recordAlongside(_ file: String, _ bytes: @autoclosure () -> [UInt8]) {
        if let recorder { recorder.record(file: file, bytes: bytes()) }
    }

    public func addressClaims(of address: IPAddress, on link: Link, in namespace: any NamespaceAccess) -> [LinkAddress]? {
        guard let handle = namespace.handle else { return nil }
        let claims = try? AddressClaimProbe.ask(address, on: link, in: handle)
        if let claims { recorder?.record(claims: claims, of: address) }
        return claims
    }
}

import ConfigFormats
import Dispatch
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import NetSystem
import RuntimeModel
import Synchronization

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The three answers an inventory is made of, as protobuf messages.
public struct RuntimeAnswers: Sendable {
    public var version: Runtime_V1_VersionResponse
    public var list: Runtime_V1_ListPodSandboxResponse
    public var statuses: [Runtime_V1_PodSandboxStatusResponse]

    public init(
        version: Runtime_V1_VersionResponse, list: Runtime_V1_ListPodSandboxResponse, statuses: [Runtime_V1_PodSandboxStatusResponse]
    ) {
        self.version = version
        self.list = list
        self.statuses = statuses
    }
}

extension RuntimeInventory {
    /// The sandboxes from the answers: identity from the list, addresses and namespace from the
    /// status of each ready one (a sandbox without a status answer keeps neither).
    public init(_ answers: RuntimeAnswers) {
        let statuses = Dictionary(answers.statuses.map { ($0.status.id, $0) }, uniquingKeysWith: { first, _ in first })
        let sandboxes = answers.list.items.map { item in
            var sandbox = RuntimeSandbox(
                id: item.id, name: item.metadata.name, namespace: item.metadata.namespace,
                uid: item.metadata.uid, ready: item.state == .sandboxReady, ips: [], netnsPath: nil)
            if sandbox.ready, let status = statuses[item.id] {
                let network = status.status.network
                sandbox.ips = ([network.ip] + network.additionalIps.map(\.ip)).filter { !$0.isEmpty }
                sandbox.netnsPath = SandboxInfo.networkNamespacePath(status.info)
            }
            return sandbox
        }
        self.init(
            runtimeName: answers.version.runtimeName, runtimeVersion: answers.version.runtimeVersion,
            apiVersion: answers.version.runtimeApiVersion, sandboxes: sandboxes)
    }
}

/// Read-only CRI calls over the runtime's Unix socket (gRPC, HTTP/2): Version, ListPodSandbox,
/// PodSandboxStatus. Works for containerd and CRI-O alike. Every call is bounded by one total
/// time budget: a runtime that hangs or answers garbage is an error, never a wait.
public enum RuntimeClient {
    /// The whole inquiry's budget by default (a node of 110 pods answers in tens of milliseconds).
    public static let defaultBudget: Duration = .seconds(3)
    /// The largest answer accepted (a ListPodSandbox of thousands of sandboxes is a few MiB).
    static let maxResponseBytes = 8 << 20

    /// Version only (detect-cni).
    public static func version(
        _ endpoint: RuntimeEndpoint, budget: Duration = defaultBudget
    )
        throws(RuntimeQueryError) -> (name: String, version: String, apiVersion: String)
    {
        try call(endpoint, budget: budget) { service, options in
            let answer = try await service.version(.with { $0.version = "v1" }, options: options)
            return (answer.runtimeName, answer.runtimeVersion, answer.runtimeApiVersion)
        }
    }

    /// Version, every sandbox, and the verbose status of each ready sandbox `wantsStatus` picks
    /// (every one by default: one round trip each, so a command that names pods asks only theirs).
    public static func inventory(
        _ endpoint: RuntimeEndpoint, budget: Duration = defaultBudget,
        wantsStatus: @escaping @Sendable (Runtime_V1_PodSandbox) -> Bool = { _ in true }
    )
        throws(RuntimeQueryError) -> RuntimeInventory
    {
        RuntimeInventory(try answers(endpoint, budget: budget, wantsStatus: wantsStatus))
    }

    /// The runtime's answers as they came (the lab records them as test fixtures).
    public static func answers(
        _ endpoint: RuntimeEndpoint, budget: Duration = defaultBudget,
        wantsStatus: @escaping @Sendable (Runtime_V1_PodSandbox) -> Bool = { _ in true }
    )
        throws(RuntimeQueryError) -> RuntimeAnswers
    {
        try call(endpoint, budget: budget) { service, options in
            let version = try await service.version(.with { $0.version = "v1" }, options: options)
            let listed = try await service.listPodSandbox(Runtime_V1_ListPodSandboxRequest(), options: options)
            let wanted = listed.items.filter { $0.state == .sandboxReady && wantsStatus($0) }
            let statuses = try await statuses(of: wanted, service: service, options: options)
            return RuntimeAnswers(version: version, list: listed, statuses: statuses)
        }
    }

    /// The runtime's own conditions (CRI `Status`): RuntimeReady and NetworkReady, each with
    /// its reason and message as the runtime words them.
    public static func conditions(
        _ endpoint: RuntimeEndpoint, budget: Duration = defaultBudget
    ) throws(RuntimeQueryError)
        -> [RuntimeCondition]
    {
        let answer = try call(endpoint, budget: budget) { service, options in
            try await service.status(Runtime_V1_StatusRequest(), options: options)
        }
        return conditions(answer)
    }

    /// The conditions of a Status answer (recorded ones included).
    public static func conditions(_ answer: Runtime_V1_StatusResponse) -> [RuntimeCondition] {
        answer.status.conditions.map {
            RuntimeCondition(
                type: Printable.line($0.type), status: $0.status, reason: Printable.line($0.reason), message: Printable.line($0.message))
        }
    }

    /// How many PodSandboxStatus calls are in flight at once over the one connection: a node of
    /// 110 pods asked one at a time waits 110 round trips; the runtime answers several at once.
    static let statusesInFlight = 8

    /// The verbose status of each sandbox, in the list's order, asked `statusesInFlight` at a time.
    static func statuses(
        of sandboxes: [Runtime_V1_PodSandbox], service: Service, options: CallOptions
    ) async throws -> [Runtime_V1_PodSandboxStatusResponse] {
        try await withThrowingTaskGroup(of: (Int, Runtime_V1_PodSandboxStatusResponse).self) { group in
            var answers = [Runtime_V1_PodSandboxStatusResponse?](repeating: nil, count: sandboxes.count)
            var next = 0
            func ask(_ index: Int) {
                let id = sandboxes[index].id
                group.addTask {
                    (
                        index,
                        try await service.podSandboxStatus(
                            .with {
                                $0.podSandboxID = id; $0.verbose = true
                            }, options: options)
                    )
                }
            }
            while next < min(statusesInFlight, sandboxes.count) {
                ask(next)
                next += 1
            }
            while let (index, answer) = try await group.next() {
                answers[index] = answer
                if next < sandboxes.count {
                    ask(next)
                    next += 1
                }
            }
            return answers.compactMap { $0 }
        }
    }

    typealias Service = Runtime_V1_RuntimeService.Client<HTTP2ClientTransport.Posix>

    /// Runs `body` against the runtime and waits for it on this thread, at most `budget`.
    static func call<T: Sendable>(
        _ endpoint: RuntimeEndpoint, budget: Duration,
        _ body: @escaping @Sendable (Service, CallOptions) async throws -> T
    ) throws(RuntimeQueryError) -> T {
        try checkListening(endpoint)
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try .http2NIOPosix(target: .unixDomainSocket(path: endpoint.socketPath), transportSecurity: .plaintext)
        } catch {
            throw RuntimeQueryError(kind: .failed, message: "cannot use the runtime endpoint \(endpoint.named): \(error)")
        }
        let options = callOptions(budget)
        let outcome = Outcome<T>()
        // Its own thread: the call never waits for a free thread of the shared pool.
        let executor = ThreadExecutor()
        defer { executor.finish() }
        let task = Task(executorPreference: executor) {
            do {
                let value = try await withGRPCClient(transport: transport) { client in
                    try await body(Service(wrapping: client), options)
                }
                outcome.finish(.success(value))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        // The RPCs carry the deadline; this wait is the backstop for a connection that never
        // completes its HTTP/2 handshake.
        guard let result = outcome.wait(for: budget + .milliseconds(500)) else {
            task.cancel()
            throw RuntimeQueryError(kind: .timedOut, message: "the runtime at \(endpoint.named) did not answer within \(budget)")
        }
        switch result {
        case .success(let value): return value
        case .failure(let error as RPCError) where error.code == .deadlineExceeded:
            throw RuntimeQueryError(kind: .timedOut, message: "the runtime at \(endpoint.named) did not answer within \(budget)")
        case .failure(let error as RPCError):
            throw RuntimeQueryError(
                kind: .failed, message: "the runtime at \(endpoint.named) answered CRI with \(error.code): \(Printable.line(error.message))"
            )
        case .failure(let error):
            throw RuntimeQueryError(
                kind: .failed, message: "the runtime at \(endpoint.named) failed: \(Printable.line(String(describing: error)))")
        }
    }

    /// Every call: the whole budget as its deadline, failing at once rather than waiting for a
    /// connection to become ready, and a bounded answer.
    static func callOptions(_ budget: Duration) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = budget
        options.waitForReady = false
        options.maxResponseMessageBytes = maxResponseBytes
        return options
    }

    /// A quick connect before gRPC, which would otherwise retry a refused socket until its deadline.
    static func checkListening(_ endpoint: RuntimeEndpoint) throws(RuntimeQueryError) {
        guard endpoint.socketExists else {
            throw RuntimeQueryError(kind: .noSocket, message: "no runtime socket at \(endpoint.socketPath)")
        }
        guard let socket = try? Socket(domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), what: "runtime")
        else { return }
        let fd = socket.fd
        guard let result = SocketAddress.withUnix(endpoint.socketPath, { connect(fd, $0, $1) }) else {
            throw RuntimeQueryError(kind: .failed, message: "the runtime socket path \(endpoint.socketPath) is too long")
        }
        if result != 0 && (errno == ECONNREFUSED || errno == ENOENT) {
            throw RuntimeQueryError(kind: .notListening, message: "nothing listens on the runtime socket \(endpoint.socketPath)")
        }
    }
}

/// The verbose status's `info` map: JSON the runtime writes (containerd's sandbox_info.go,
/// CRI-O's sandbox_status.go), with the sandbox's OCI runtime spec inside.
public enum SandboxInfo {
    /// `info.runtimeSpec.linux.namespaces[type=network].path`; nil when absent or not JSON.
    public static func networkNamespacePath(_ info: [String: String]) -> String? {
        guard let text = info["info"], text.utf8.count <= RuntimeClient.maxResponseBytes,
            let document = try? JSONParser.parse(text)
        else { return nil }
        for namespace in document["runtimeSpec"]?["linux"]?["namespaces"]?.array ?? [] {
            if namespace["type"]?.string == "network", let path = namespace["path"]?.string, !path.isEmpty { return path }
        }
        return nil
    }
}

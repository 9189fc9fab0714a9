/// A pod sandbox as the runtime reports it (ListPodSandbox + PodSandboxStatus, verbose).
public struct RuntimeSandbox: Sendable, Equatable {
    public var id: String
    public var name: String
    public var namespace: String
    public var uid: String
    public var ready: Bool
    /// The primary IP first, then the additional ones, as the runtime gives them.
    public var ips: [String]
    /// The network namespace path from the verbose info's runtime spec; nil for host-network
    /// pods and when the runtime does not say.
    public var netnsPath: String?

    public init(id: String, name: String, namespace: String, uid: String, ready: Bool, ips: [String], netnsPath: String?) {
        self.id = id
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.ready = ready
        self.ips = ips
        self.netnsPath = netnsPath
    }
}

/// What the runtime answered: who it is, and its sandboxes.
public struct RuntimeInventory: Sendable, Equatable {
    public var runtimeName: String
    public var runtimeVersion: String
    public var apiVersion: String
    public var sandboxes: [RuntimeSandbox]

    public init(runtimeName: String, runtimeVersion: String, apiVersion: String, sandboxes: [RuntimeSandbox]) {
        self.runtimeName = runtimeName
        self.runtimeVersion = runtimeVersion
        self.apiVersion = apiVersion
        self.sandboxes = sandboxes
    }
}

/// Why the runtime could not be asked, in words an operator can act on.
public struct RuntimeQueryError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case noSocket, notListening, timedOut, failed }
    public var kind: Kind
    public var message: String
    public var description: String { message }

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}

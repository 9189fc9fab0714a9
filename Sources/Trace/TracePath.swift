import Inspection
import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem
import Pods

/// One place on the path where netdoctor looks: an interface in a namespace.
public struct TraceHop: Sendable {
    public enum Role: String, Sendable {
        case source, hostSide = "host side", bridge, overlay, underlay, output, destinationHostSide = "destination host side", destination
    }

    public var name: String
    public var namespace: KnownNamespace
    public var interface: String
    public var role: Role
    public var link: Link?
    public var requestSeen: Bool?
    public var replySeen: Bool?
    /// The node whose namespace this is, when it is not this one (a hop its agent watched).
    public var node: String? = nil
    /// A remote hop's MTU (its link is not readable here).
    public var remoteMTU: UInt32? = nil

    public var mtu: UInt32? { link?.mtu ?? remoteMTU }
}

/// A namespace read once for the trace: its socket, state and identity.
struct NamespaceSnapshot {
    var known: KnownNamespace
    var opened: NetNamespace
    var socket: RouteSocket
    var state: NamespaceState
    var label: String

    static func read(_ known: KnownNamespace, label: String, directory: NamespaceDirectory) throws -> NamespaceSnapshot {
        let opened = try directory.open(known)
        let isNode = known.name == "node"
        let socket = try RouteSocket.open(in: isNode ? nil : opened)
        let state = try NamespaceReader.read(socket: socket) { body in isNode ? body() : try NamespaceThread.shared.run(in: opened, body) }
        return NamespaceSnapshot(known: known, opened: opened, socket: socket, state: state, label: label)
    }

    /// The route the kernel picks, or nil when there is none (or it is unreachable/prohibit).
    func lookup(_ destination: IPAddress, source: IPAddress? = nil, input: Int32? = nil) -> Route? {
        guard let reply = try? socket.request(RouteRequest.lookup(destination: destination, source: source, inputIndex: input)),
              let route = try? Route(reply), route.type == 1 || route.type == 2 else { return nil }
        return route
    }
}

/// The two ends of a trace.
public struct TraceEnds: Sendable {
    public var source: Pod
    public var sourceAddress: IPAddress
    public var destinationName: String
    public var destinationAddress: IPAddress
    /// Set when the destination is a pod of this node.
    public var destinationPod: Pod?

    public init(source: Pod, sourceAddress: IPAddress, destinationName: String, destinationAddress: IPAddress, destinationPod: Pod?) {
        self.source = source
        self.sourceAddress = sourceAddress
        self.destinationName = destinationName
        self.destinationAddress = destinationAddress
        self.destinationPod = destinationPod
    }
}

import NetAddress
import Pods

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

import Capture
import ConfigFormats
import KernelState
import NetAddress
import Pods

extension NodeSession {
    /// A capture point named as the contract's TARGET: POD (its own interface, eth0 unless its CNI
    /// attachment says otherwise), POD:IFACE or node:IFACE. A pod's IPv6 address is a POD too.
    /// The pod is returned beside the point, for the report's "pods" (nil for node:IFACE).
    public func capturePoint(_ target: String) throws -> (point: CapturePoint, pod: Pod?) {
        let (who, named) = Self.split(captureTarget: target)
        if who == KnownNamespace.nodeName {
            let interface = named ?? "eth0"
            return (CapturePoint(name: "node:\(interface)", interface: interface, namespace: nil), nil)
        }
        let pod = try pods.find(who)
        let interface = named ?? pod.primaryInterface
        let handle = try node.handle(try node.namespace(of: pod))
        // The name is printed and written into the file: a pod name cannot carry control characters there.
        return (CapturePoint(name: Printable.line("\(pod.label):\(interface)"), interface: interface, namespace: handle.opened), pod)
    }

    /// TARGET's two parts: who (`node`, a pod, a pod's IP) and the interface, if named.
    static func split(captureTarget target: String) -> (who: String, interface: String?) {
        if IPAddress.parse(target) != nil { return (target, nil) }
        let parts = target.split(separator: ":", maxSplits: 1).map(String.init)
        return (parts.first ?? target, parts.count == 2 ? parts[1] : nil)
    }

    /// The pods capture targets name (for `podsNamed`: node interfaces name none).
    public static func pods(namedByCaptureTargets targets: [String]) -> [String] {
        targets.map { split(captureTarget: $0).who }.filter { $0 != KnownNamespace.nodeName }
    }

    /// The pods a capture's targets named, as the report lists them (the runtime is not asked
    /// when only node interfaces are).
    public func captureReport(_ report: CaptureReport, pods named: [Pod]) -> PodSourcedReport<CaptureReport> {
        PodSourcedReport(report, pods: named, directory: named.isEmpty ? PodDirectory(pods: []) : pods)
    }
}

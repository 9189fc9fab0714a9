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

    /// A capture opened at every target, each point capturing from here on: the CLI and the
    /// agent run it (CaptureRun) and report it (`report(_:outcome:file:)`) the same way.
    public func openCapture(_ targets: [String], filter: String?, bufferBytes: Int32, immediate: Bool = true) throws -> OpenedCapture {
        var named: [Pod] = []
        let points = try targets.map { target in
            let (point, pod) = try capturePoint(target)
            if let pod, !named.contains(pod) { named.append(pod) }
            return point
        }
        return OpenedCapture(
            points: points, pods: named,
            session: try CaptureSession(points: points, filter: filter, bufferBytes: bufferBytes, immediate: immediate))
    }

    /// The capture's report, with the pods its targets named (the runtime is not asked when only
    /// node interfaces are).
    public func report(_ capture: OpenedCapture, outcome: CaptureRun.Outcome, file: String?) -> PodSourcedReport<CaptureReport> {
        let report = CaptureReport(
            points: capture.points, handles: capture.session.handles, outcome: outcome, file: file,
            problems: capture.session.problems)
        return PodSourcedReport(report, pods: capture.pods, directory: capture.pods.isEmpty ? PodDirectory(pods: []) : pods)
    }
}

/// Capture points opened at a command's targets, and the pods they named.
public struct OpenedCapture {
    public let points: [CapturePoint]
    public let pods: [Pod]
    public let session: CaptureSession
}

import KernelState
import Pods

extension CapturePoint {
    /// A point named as the contract's TARGET: POD (its eth0), POD:IFACE or node:IFACE.
    public static func target(_ target: String, pods: PodDirectory, directory: NamespaceDirectory) throws -> CapturePoint {
        let parts = target.split(separator: ":", maxSplits: 1).map(String.init)
        let (who, interface) = parts.count == 2 ? (parts[0], parts[1]) : (target, "eth0")
        if who == "node" {
            return CapturePoint(name: "node:\(interface)", interface: interface, namespace: nil)
        }
        let pod = try pods.find(who)
        let known = try PodDirectory.namespace(of: pod, directory: directory)
        return CapturePoint(name: "\(pod.name):\(interface)", interface: interface, namespace: try directory.open(known))
    }
}

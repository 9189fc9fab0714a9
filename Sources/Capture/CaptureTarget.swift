import ConfigFormats
import NetAddress
import KernelState
import Pods

extension CapturePoint {
    /// A point named as the contract's TARGET: POD (its own interface, eth0 unless its CNI
    /// attachment says otherwise), POD:IFACE or node:IFACE. A pod's IPv6 address is a POD too.
    public static func target(_ target: String, pods: PodDirectory, directory: NamespaceDirectory) throws -> CapturePoint {
        let parts = IPAddress.parse(target) != nil ? [target] : target.split(separator: ":", maxSplits: 1).map(String.init)
        let who = parts.first ?? target
        let named = parts.count == 2 ? parts[1] : nil
        if who == "node" {
            let interface = named ?? "eth0"
            return CapturePoint(name: "node:\(interface)", interface: interface, namespace: nil)
        }
        let pod = try pods.find(who)
        let interface = named ?? pod.primaryInterface
        let known = try PodDirectory.namespace(of: pod, directory: directory)
        // The name is printed and written into the file: a pod name cannot carry control characters there.
        return CapturePoint(name: Printable.line("\(pod.name):\(interface)"), interface: interface, namespace: try directory.open(known), pod: pod)
    }
}

/// What the kernel of the namespace netdoctor runs in says about the node's uplink, read from
/// procfs and sysfs. In a privileged pod with hostNetwork that is the node's own namespace.
public struct KernelView: Sendable, Equatable {
    /// The device of the IPv4 default route, and its MTU.
    public var uplink: (device: String, mtu: Int)?
    /// Interface names, for recognising a CNI's overlay devices (flannel.1, vxlan.calico, …).
    public var devices: Set<String>

    public init(uplink: (device: String, mtu: Int)? = nil, devices: Set<String> = []) {
        self.uplink = uplink
        self.devices = devices
    }

    public static func == (a: KernelView, b: KernelView) -> Bool {
        a.uplink?.device == b.uplink?.device && a.uplink?.mtu == b.uplink?.mtu && a.devices == b.devices
    }

    /// Reads the live kernel. Missing files (no /sys, a container without procfs) give an empty view.
    public static func current() -> KernelView {
        let system = NodeRoot("/")
        var view = KernelView()
        if let entries = try? system.list("/sys/class/net") {
            view.devices = Set(entries.map(\.name))
        }
        if let routes = try? system.readText("/proc/net/route") {
            for line in routes.split(separator: "\n").dropFirst() {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard fields.count > 7, fields[1] == "00000000", fields[7] == "00000000" else { continue }
                let device = String(fields[0])
                if let text = try? system.readText("/sys/class/net/\(device)/mtu"),
                   let mtu = Int(text.filter { $0.isNumber }) {
                    view.uplink = (device, mtu)
                }
                break
            }
        }
        return view
    }
}

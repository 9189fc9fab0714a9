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
                    let mtu = Int(text.filter { $0.isNumber })
                {
                    view.uplink = (device, mtu)
                }
                break
            }
        }
        if view.uplink == nil {
            // No default route (an isolated node, the lab): as Calico does, the smallest MTU of
            // the up interfaces named like NICs.
            for name in view.devices.sorted() where looksLikeNIC(name) {
                guard let flags = try? system.readText("/sys/class/net/\(name)/flags"),
                    let value = Int(flags.filter { $0.isHexDigit || $0 == "x" }.dropFirst(2), radix: 16), value & 1 == 1,
                    let text = try? system.readText("/sys/class/net/\(name)/mtu"), let mtu = Int(text.filter { $0.isNumber })
                else { continue }
                if view.uplink == nil || mtu < view.uplink!.mtu { view.uplink = (name, mtu) }
            }
        }
        return view
    }

    /// Calico's default mtuIfacePattern: ^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)
    static func looksLikeNIC(_ name: String) -> Bool {
        for prefix in ["eth", "wlan", "wwan"] where name.hasPrefix(prefix) { return true }
        let chars = Array(name)
        guard chars.count >= 3 else { return false }
        return ["en", "wl", "ww", "sl", "ib"].contains(String(chars[0...1])) && "Pcopsvx".contains(chars[2])
    }
}

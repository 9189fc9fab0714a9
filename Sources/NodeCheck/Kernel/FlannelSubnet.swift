import ConfigFormats
import NodeFiles

/// flannel's subnet.env as its daemon writes it (FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU,
/// FLANNEL_IPMASQ): the flannel CNI plugin reads it on every pod's ADD and fails without it
/// ("open /run/flannel/subnet.env: no such file or directory").
public struct FlannelSubnet: Sendable, Equatable {
    /// The conf's `subnetFile`, or flannel's default.
    public var path: String
    public var environment: EnvironmentFile?
    /// Why it could not be read; nil when it was.
    public var problem: String?

    public static let defaultPath = "/run/flannel/subnet.env"

    public static func read(_ path: String, root: NodeRoot) -> FlannelSubnet {
        do {
            return FlannelSubnet(path: path, environment: EnvironmentFile.parse(try root.readText(path, limit: 64 << 10)), problem: nil)
        } catch {
            return FlannelSubnet(path: path, environment: nil, problem: Printable.line("\(error)"))
        }
    }
}

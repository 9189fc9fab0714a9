import ConfigFormats
import NetAddress
import NodeFiles

/// A CNI link whose MAC udev replaced with the one its .link file's MACAddressPolicy=persistent
/// derives: the CNI created it with a random MAC (and may have told others: flannel publishes its
/// VTEP's), then systemd-udevd's net_setup_link gave it another (systemd 242+ on virtual
/// devices: flannel-io/flannel#1155, cilium/cilium#8304, flatcar#278).
public struct RewrittenMAC: Sendable, Equatable {
    public var link: String
    /// IFLA_INFO_KIND: vxlan and geneve devices are VTEPs whose MAC peers learned.
    public var kind: String?
    public var mac: LinkAddress
    /// The .link file udev applied (ID_NET_LINK_FILE) and the drop-ins after it.
    public var linkFiles: [String]
}

/// Reads, for the node's CNI links, which .link file udev applied (/run/udev/data/nIFINDEX:
/// `E:ID_NET_LINK_FILE=` since systemd 217, `E:ID_NET_LINK_FILE_DROPINS=` since 253) and its
/// MACAddressPolicy, and proves a rewrite by recomputing the persistent MAC: SipHash-2-4 of the
/// machine id's 16 bytes and the link's name under systemd's fixed key, its first six bytes,
/// made unicast and locally administered (netif-util.c, the same from v241 to v256). A link whose
/// MAC is that value got it from udev; any other MAC is not judged.
public enum UdevMACPolicy {
    static let dataDirectory = "/run/udev/data"
    static let machineIDPath = "/etc/machine-id"
    /// systemd's HASH_KEY for predictable data (netif-util.c).
    static let hashKey: [UInt8] = [0xd3, 0x1e, 0x48, 0xfa, 0x90, 0xfe, 0x4b, 0x4c, 0x9d, 0xaf, 0xd5, 0xd7, 0xa1, 0xb1, 0x2e, 0x8a]

    public static func read(root: NodeRoot, links: [(index: Int32, name: String, mac: LinkAddress?, kind: String?)]) -> [RewrittenMAC] {
        let cni = links.filter { HostLinkManagers.isCNILink($0.name) && $0.mac?.bytes.count == 6 }
        let records = HostLinkManagers.states(in: dataDirectory, of: cni.map { ($0.index, $0.name) }, root: root, prefix: "n")
        guard !records.isEmpty, let machineID = machineID(root: root) else { return [] }
        // Each set of .link files read once ("" where none sets a policy): 99-default.link for most links.
        var policies: [String: String] = [:]
        var found: [RewrittenMAC] = []
        for link in cni {
            guard let record = records[link.index], let mac = link.mac else { continue }
            let files = linkFiles(record)
            guard !files.isEmpty else { continue }
            let key = files.joined(separator: "\n")
            if policies[key] == nil { policies[key] = policy(files, root: root) ?? "" }
            guard policies[key] == "persistent", mac.bytes == persistentMAC(machineID: machineID, name: link.name) else { continue }
            found.append(RewrittenMAC(link: link.name, kind: link.kind, mac: mac, linkFiles: files))
        }
        return found
    }

    /// The .link file and its drop-ins, from a udev database record's E: lines (drop-ins are
    /// ':'-joined, a ':' inside a path escaped as \x3a).
    public static func linkFiles(_ record: String) -> [String] {
        var file: String?
        var dropins: [String] = []
        for line in record.split(separator: "\n") {
            if line.hasPrefix("E:ID_NET_LINK_FILE=") {
                file = String(line.dropFirst("E:ID_NET_LINK_FILE=".count))
            } else if line.hasPrefix("E:ID_NET_LINK_FILE_DROPINS=") {
                dropins = line.dropFirst("E:ID_NET_LINK_FILE_DROPINS=".count).split(separator: ":").map {
                    $0.replacingOccurrences(of: "\\x3a", with: ":")
                }
            }
        }
        return file.map { [$0] + dropins } ?? []
    }

    /// [Link] MACAddressPolicy= as the files set it, each later one overriding; nil when none does.
    static func policy(_ files: [String], root: NodeRoot) -> String? {
        var policy: String?
        for file in files {
            guard let text = try? root.readText(file, limit: 64 << 10) else { continue }
            if let value = SystemdUnit.parse(text).values("MACAddressPolicy", section: "Link").last?.value {
                policy = value.trimmingCharacters()
            }
        }
        return policy
    }

    /// /etc/machine-id's 32 hex digits as 16 bytes.
    static func machineID(root: NodeRoot) -> [UInt8]? {
        guard let text = try? root.readText(machineIDPath, limit: 4096) else { return nil }
        let hex = Array(text.trimmingCharacters().utf8)
        guard hex.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 32, by: 2) {
            guard let byte = UInt8(String(decoding: hex[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The MAC MACAddressPolicy=persistent gives a device without ID_NET_NAME_* (a veth, a
    /// bridge, a VXLAN device): from the machine id and the device's name.
    public static func persistentMAC(machineID: [UInt8], name: String) -> [UInt8] {
        mac(fromHash: SipHash24.hash(machineID + Array(name.utf8), key: hashKey))
    }

    /// The hash's first six bytes (little-endian), unicast and locally administered.
    static func mac(fromHash hash: UInt64) -> [UInt8] {
        var bytes = (0..<6).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) }
        bytes[0] = (bytes[0] & 0xfe) | 0x02
        return bytes
    }
}

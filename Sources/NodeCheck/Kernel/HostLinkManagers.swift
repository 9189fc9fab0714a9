import ConfigFormats
import NodeFiles

/// A CNI link a host network manager claims: systemd-networkd applying a .network file to it,
/// or NetworkManager activating a profile of its own on it (not the external one it makes for
/// links others configure, which it does not touch).
public struct ManagedLink: Sendable, Equatable {
    public var link: String
    public var manager: String
    /// What the manager's state says: "ADMIN_STATE=configured", "managed=true".
    public var state: String
    /// The .network file, or the profile's id and file.
    public var configuration: String?
    /// networkd: the .network matches the link by a pattern or by something else than its name
    /// (as the cali* cases of projectcalico/calico#2471), not by naming it.
    public var byPattern: Bool
    /// NetworkManager: its profile could not be found (its uuid in no keyfile read).
    public var profileUnknown: Bool
}

/// Reads the host network managers' runtime state for the node's CNI links, read-only:
/// systemd-networkd's /run/systemd/netif/links/IFINDEX (KEY=value; ADMIN_STATE and
/// NETWORK_FILE, every release since 239) and NetworkManager's /run/NetworkManager/devices/IFINDEX
/// (a keyfile, `[device] managed=`, `connection-uuid=`, since 1.6) with its profiles'
/// keyfiles (`[connection] uuid=`, `[.nmmeta] external=true` for links it only observes).
public enum HostLinkManagers {
    /// The names CNIs give the links they make.
    static let cniPrefixes = [
        "cni", "cbr0", "flannel.", "flannel-v6.", "vxlan.calico", "vxlan-v6.calico", "tunl0", "cali", "veth", "cilium_", "lxc",
        "kube-ipvs0", "nodelocaldns", "weave", "vxlan_sys_", "genev_sys_", "antrea-", "kube-bridge", "ovn-k8s-", "wireguard.cali",
    ]

    public static func isCNILink(_ name: String) -> Bool { cniPrefixes.contains { name.hasPrefix($0) } }

    static let networkdLinks = "/run/systemd/netif/links"
    static let managerDevices = "/run/NetworkManager/devices"
    static let profileDirectories = ["/run/NetworkManager/system-connections", "/etc/NetworkManager/system-connections"]

    /// The CNI links among `links` (index, name: live ones only, so a stale state file of a
    /// link gone says nothing) that a manager claims.
    public static func read(root: NodeRoot, links: [(index: Int32, name: String)]) -> [ManagedLink] {
        let cni = links.filter { isCNILink($0.name) }
        guard !cni.isEmpty else { return [] }
        var found: [ManagedLink] = []
        var profiles: [String: (id: String, file: String, external: Bool)]? = nil
        // Each manager's directory listed once: a node without it costs one lookup, not two per link.
        let networkdStates = states(in: networkdLinks, of: cni, root: root)
        let managerStates = states(in: managerDevices, of: cni, root: root)
        for (index, name) in cni {
            if let text = networkdStates[index], let claim = networkd(text, link: name, root: root) {
                found.append(claim)
            }
            if let text = managerStates[index] {
                let device = SystemdUnit.parse(text)
                guard device.values("managed", section: "device").last?.value.lowercased() == "true",
                    let uuid = device.values("connection-uuid", section: "device").last?.value, !uuid.isEmpty
                else { continue }
                if profiles == nil { profiles = readProfiles(root: root) }
                let profile = profiles?[uuid]
                if profile?.external == true { continue }  // connected externally: NM does not touch it
                found.append(
                    ManagedLink(
                        link: name, manager: "NetworkManager", state: "managed=true, connection-uuid=\(Printable.line(uuid))",
                        configuration: profile.map { "profile \($0.id) (\($0.file))" }, byPattern: false, profileUnknown: profile == nil))
            }
        }
        return found
    }

    /// The state files a manager keeps in `directory` (one per ifindex) for the links given.
    /// `prefix`: before the ifindex in the file's name (udev's database: "n").
    static func states(
        in directory: String, of links: [(index: Int32, name: String)], root: NodeRoot, prefix: String = ""
    ) -> [Int32: String] {
        let present = Set(((try? root.list(directory, withStatus: false)) ?? []).map(\.name))
        let wanted = links.map(\.index).filter { present.contains(prefix + String($0)) }
        guard !wanted.isEmpty else { return [:] }
        var texts: [Int32: String] = [:]
        for (index, (_, content)) in zip(wanted, root.readEach(directory, names: wanted.map { prefix + String($0) }, limit: 64 << 10)) {
            if case .success(let bytes) = content { texts[index] = String(decoding: bytes, as: UTF8.self) }
        }
        return texts
    }

    /// networkd's state file of a link: managed when a .network applies (ADMIN_STATE
    /// initialized, configuring, configured or failed; NETWORK_FILE set).
    static func networkd(_ text: String, link: String, root: NodeRoot) -> ManagedLink? {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
        let state = values["ADMIN_STATE"] ?? ""
        guard ["initialized", "configuring", "configured", "failed"].contains(state), let file = values["NETWORK_FILE"], !file.isEmpty
        else { return nil }
        let names = (try? root.readText(file, limit: 256 << 10)).map { text in
            SystemdUnit.parse(text).values("Name", section: "Match").flatMap { $0.value.split(separator: " ").map(String.init) }
        }
        // Matched by a pattern, or not by name at all (Type=, Driver=, MACAddress=): it takes
        // whatever link comes next too.
        let byPattern = names.map { $0.isEmpty || $0.contains { $0.contains(where: { "*?[!".contains($0) }) } } ?? true
        return ManagedLink(
            link: link, manager: "systemd-networkd", state: "ADMIN_STATE=\(Printable.line(state))", configuration: Printable.line(file),
            byPattern: byPattern, profileUnknown: false)
    }

    /// NetworkManager's profiles by uuid: their id, file, and whether NM made them for a link it
    /// only observes.
    static func readProfiles(root: NodeRoot) -> [String: (id: String, file: String, external: Bool)] {
        var profiles: [String: (id: String, file: String, external: Bool)] = [:]
        for directory in profileDirectories {
            let names = ((try? root.list(directory, withStatus: false)) ?? []).map(\.name).filter { $0.hasSuffix(".nmconnection") }.prefix(
                4096)
            for (path, content) in root.readEach(directory, names: Array(names), limit: 256 << 10) {
                guard case .success(let bytes) = content else { continue }
                let profile = SystemdUnit.parse(String(decoding: bytes, as: UTF8.self))
                guard let uuid = profile.values("uuid", section: "connection").last?.value else { continue }
                profiles[uuid] = (
                    Printable.line(profile.values("id", section: "connection").last?.value ?? "?"), path,
                    profile.values("external", section: ".nmmeta").last?.value.lowercased() == "true"
                )
            }
        }
        return profiles
    }
}

import KernelState
import NetAddress
import Netlink
import NetlinkCodec
import NodeFiles
import Pods

/// Writes down every answer a live gathering got, in the kernel's own bytes, so that a replay
/// (`RecordedNode`) gives the gathering and the checks exactly the same facts without root.
///
/// Layout, one directory per namespace (by name) under the recording:
///   namespaces.txt         name, device, inode of every namespace opened
///   pods.txt               pod name and the namespace it was found in
///   claims.txt             an address and the link-layer addresses that answered ARP for it
///   NS/{links,addresses,routes,neighbors,fdb}.bin   the dumps, netlink messages back to back
///   NS/neighbors-after.bin the neighbour table read again after the probe
///   NS/sysctls.txt         name=value
///   NS/lookups.txt         query, errno (0: answered), the reply's bytes in hex or the error
///   NS/peers.txt           nsid and the namespace it names ("-": none known)
final class FactRecorder: @unchecked Sendable {
    let directory: String
    private var lines: [String: [String]] = [:]

    init(directory: String) {
        self.directory = directory
        FileTree.makeDirectories(directory)
    }

    static func folder(_ known: KnownNamespace) -> String {
        known.name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.reduce("") { $0 + String($1) }
    }

    func record(namespace known: KnownNamespace) {
        append("namespaces.txt", "\(known.name)\t\(known.identity.device)\t\(known.identity.inode)")
    }

    func record(pod: Pod, in known: KnownNamespace) { append("pods.txt", "\(pod.fullName)\t\(known.name)") }

    func record(claims: [LinkAddress], of address: IPAddress) {
        append("claims.txt", "\(address)\t\(claims.map(\.description).joined(separator: ","))")
    }

    func record(_ dumps: NamespaceDumps, sysctls: [String: String], of known: KnownNamespace) {
        let folder = directory + "/" + Self.folder(known)
        for (name, messages) in [
            ("links", dumps.links), ("addresses", dumps.addresses), ("routes", dumps.routes),
            ("neighbors", dumps.neighbors), ("fdb", dumps.forwardingDatabase),
        ] {
            FileTree.write("\(folder)/\(name).bin", bytes: messages.flatMap(\.encoded))
        }
        let text = sysctls.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        FileTree.write("\(folder)/sysctls.txt", bytes: Array(text.utf8))
    }

    func record(neighborsAfter messages: [NetlinkMessage], of known: KnownNamespace) {
        FileTree.write("\(directory)/\(Self.folder(known))/neighbors-after.bin", bytes: messages.flatMap(\.encoded))
    }

    func record(_ query: RouteQuery, reply: Result<NetlinkMessage, NetlinkError>, of known: KnownNamespace) {
        let answer =
            switch reply {
            case .success(let message): "0\t" + message.encoded.map(Self.hex).joined()
            case .failure(.kernel(let code, let message)): "\(code)\t\(message ?? "")"
            case .failure(let error): "-1\t\(error)"
            }
        append("\(Self.folder(known))/lookups.txt", "\(query)\t\(answer)")
    }

    func record(peer: KnownNamespace?, nsid: Int32, of known: KnownNamespace) {
        append("\(Self.folder(known))/peers.txt", "\(nsid)\t\(peer?.name ?? "-")")
    }

    func record(file: String, bytes: [UInt8]) { FileTree.write("\(directory)/\(file)", bytes: bytes) }

    private func append(_ file: String, _ line: String) {
        guard lines[file]?.contains(line) != true else { return }
        lines[file, default: []].append(line)
        FileTree.write("\(directory)/\(file)", bytes: Array(lines[file]!.map { $0 + "\n" }.joined().utf8))
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

import ConfigFormats
import NetAddress

/// Azure CNI's IPAM state, as azure-vnet-ipam writes it (Azure/azure-container-networking,
/// ipam/manager.go and store/json.go; the same shape v1.0 to v1.16): `{"IPAM": {"AddressSpaces":
/// {"local": {"Pools": {SUBNET: {"Addresses": {IP: {"ID", "Addr", "InUse"}}}}}}}}`, Go field
/// names, tab-indented. A pool's addresses are the NIC's secondary IPs: its size is on the node.
public enum AzureIPAM {
    public static let path = "/var/run/azure-vnet-ipam.json"

    /// The file's pools; nil when the bytes are not that shape.
    public static func usage(_ bytes: [UInt8], file: String, source: String, known: Set<String>?) -> IPAMUsage? {
        guard let pools = (try? JSONParser.parse(bytes: bytes))?["IPAM"]?["AddressSpaces"]?["local"]?["Pools"]?.object else { return nil }
        var reservations: [IPAMReservation] = []
        var sets: [IPAMUsage.RangeSetUsage] = []
        for (index, pool) in pools.members.enumerated() {
            let addresses = pool.value["Addresses"]?.object?.members ?? []
            var members = Set<IPAddress>()
            var used = 0
            for record in addresses {
                guard let address = IPAddress.parse(record.key) else { continue }
                members.insert(address)
                guard record.value["InUse"]?.bool == true else { continue }
                used += 1
                reservations.append(
                    IPAMReservation(address: address, containerID: containerID(record.value["ID"]?.string), interface: nil, file: file))
            }
            sets.append(
                .init(
                    index: index, description: Printable.line(pool.key), capacity: UInt64(members.count), used: used, ranges: [],
                    members: members))
        }
        return IPAMUsage(
            ipam: "azure-vnet-ipam", network: "azure", place: file, source: source, reservations: reservations, unreadable: [],
            sets: sets, known: known,
            release:
                "Azure CNI frees an address when its CNI DEL runs: delete the pod's sandbox if the runtime still has it; for a container that is gone, drain the node and let azure-vnet-ipam rebuild its state (do not edit \(file) while the CNI runs: it takes /var/run/azure-vnet/azure-vnet-ipam.lock)."
        )
    }

    /// The record's ID as v1.1.8+ writes it (the full container ID); nil for the empty ID of
    /// v1.0.3-v1.1.7 and the `ID8-ifname` of v1.0.0-v1.0.2, which say no container for sure.
    static func containerID(_ id: String?) -> String? {
        guard let id, id.utf8.count >= 32, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            return nil
        }
        return id
    }
}

/// AWS VPC CNI's ipamd checkpoint (aws/amazon-vpc-cni-k8s, pkg/ipamd/datastore: v1.7 onwards,
/// `{"version": "vpc-cni-ipam/1", "allocations": [{"containerID", "ifName", "ipv4"|"ipv6",
/// "metadata": {"k8sPodNamespace", "k8sPodName"}}]}`; one file per extra network card since
/// v1.20, `ipam-nic-N.json`). Only assigned addresses are in it: the pool's size (the ENIs'
/// addresses) is ipamd's, live.
public enum AWSIPAMCheckpoint {
    public static let directory = "/var/run/aws-node"
    public static let version = "vpc-cni-ipam/1"

    /// The assignments of one checkpoint file; nil when the bytes are not a checkpoint of the
    /// version ipamd writes.
    public static func reservations(_ bytes: [UInt8], file: String) -> [IPAMReservation]? {
        guard let checkpoint = try? JSONParser.parse(bytes: bytes), checkpoint["version"]?.string == version else { return nil }
        return (checkpoint["allocations"]?.array ?? []).flatMap { entry -> [IPAMReservation] in
            let id = entry["containerID"]?.string.flatMap { $0.isEmpty ? nil : Printable.line($0) }
            let interface = entry["ifName"]?.string.map { Printable.line($0) }
            return ["ipv4", "ipv6"].compactMap { entry[$0]?.string.flatMap(IPAddress.parse) }.map {
                IPAMReservation(address: $0, containerID: id, interface: interface, file: file)
            }
        }
    }

    public static func usage(_ reservations: [IPAMReservation], files: [String], source: String, known: Set<String>?) -> IPAMUsage {
        IPAMUsage(
            ipam: "aws-vpc-cni", network: "aws-cni", place: files.first ?? directory + "/ipam.json", source: source,
            reservations: reservations, unreadable: [], sets: [], known: known,
            release:
                "ipamd drops the assignments of pods whose host veth is gone when it starts: restart the aws-node pod on this node (its ipamd rewrites \(directory)/ipam.json); never edit the file while ipamd runs."
        )
    }
}

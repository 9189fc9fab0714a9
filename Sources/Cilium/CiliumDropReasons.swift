/// Cilium's drop reasons as its monitor names them (pkg/monitor/api/drop.go's `errors`; the codes
/// in bpf/lib/common.h, bpf/lib/drop_reasons.h from 1.18), and the datapath's source files by id
/// (pkg/monitor/api/files.go, 1.16 on). No string changed between 1.14 and 1.18: codes were
/// added (docs/cilium.md).
public enum CiliumDropReasons {
    /// Whether a metrics reason counts as a drop (metricsmap.go IsDrop: 2, or 130 and above).
    public static func isDrop(_ reason: UInt8) -> Bool { reason == 2 || reason >= 130 }

    public static func text(_ reason: UInt8) -> String {
        strings[reason] ?? "drop reason \(reason) (not one Cilium 1.14 to 1.18 names)"
    }

    static let strings: [UInt8: String] = [
        2: "Invalid packet", 130: "Invalid source mac", 131: "Invalid destination mac", 132: "Invalid source ip",
        133: "Policy denied", 134: "Invalid packet", 135: "CT: Truncated or invalid header", 136: "Fragmentation needed",
        137: "CT: Unknown L4 protocol", 138: "CT: Can't create entry from packet", 139: "Unsupported L3 protocol",
        140: "Missed tail call", 141: "Error writing to packet", 142: "Unknown L4 protocol", 143: "Unknown ICMPv4 code",
        144: "Unknown ICMPv4 type", 145: "Unknown ICMPv6 code", 146: "Unknown ICMPv6 type", 147: "Error retrieving tunnel key",
        148: "Error retrieving tunnel options", 149: "Invalid Geneve option", 150: "Unknown L3 target address",
        151: "Stale or unroutable IP", 152: "No matching local container found", 153: "Error while correcting L3 checksum",
        154: "Error while correcting L4 checksum", 155: "CT: Map insertion failed", 156: "Invalid IPv6 extension header",
        157: "IP fragmentation not supported", 158: "Service backend not found",
        160: "No tunnel/encapsulation endpoint (datapath BUG!)", 161: "NAT 46/64 not enabled",
        162: "Reached EDT rate-limiting drop horizon", 163: "Unknown connection tracking state", 164: "Local host is unreachable",
        165: "No configuration available to perform policy decision", 166: "Unsupported L2 protocol",
        167: "No mapping for NAT masquerade", 168: "Unsupported protocol for NAT masquerade", 169: "FIB lookup failed",
        170: "Encapsulation traffic is prohibited", 171: "Invalid identity", 172: "Unknown sender", 173: "NAT not needed",
        174: "Is a ClusterIP", 175: "First logical datagram fragment not found", 176: "Forbidden ICMPv6 message",
        177: "Denied by LB src range check", 178: "Socket lookup failed", 179: "Socket assign failed",
        180: "Proxy redirection not supported for protocol", 181: "Policy denied by denylist",
        182: "VLAN traffic disallowed by VLAN filter", 183: "Incorrect VNI from VTEP", 184: "Failed to update or lookup TC buffer",
        185: "No SID was found for the IP address", 186: "SRv6 state was removed during tail call",
        187: "L3 translation from IPv4 to IPv6 failed (NAT46)", 188: "L3 translation from IPv6 to IPv4 failed (NAT64)",
        189: "Authentication required", 190: "No conntrack map found", 191: "No nat map found", 192: "Invalid ClusterID",
        193: "Unsupported packet protocol for DSR encapsulation", 194: "No egress gateway found", 195: "Traffic is unencrypted",
        196: "TTL exceeded", 197: "No node ID found", 198: "Rate limited", 199: "IGMP handled", 200: "IGMP subscribed",
        201: "Multicast handled", 202: "Host datapath not ready", 203: "Endpoint policy program not available",
        204: "No Egress IP configured", 205: "Punt to proxy",
    ]

    /// The datapath file a 1.16+ metrics key names; `release` decides id 110 (l3.h until 1.17,
    /// local_delivery.h in 1.18); nil release: both said.
    public static func file(_ id: UInt8, release: Int?) -> String {
        if id == 110 {
            switch release {
            case 18?: return "local_delivery.h"
            case nil: return "l3.h (1.16, 1.17) or local_delivery.h (1.18)"
            default: return "l3.h"
            }
        }
        return files[id] ?? "unknown(\(id))"
    }

    static let files: [UInt8: String] = [
        1: "bpf_host.c", 2: "bpf_lxc.c", 3: "bpf_overlay.c", 4: "bpf_xdp.c", 5: "bpf_sock.c", 6: "bpf_network.c",
        7: "bpf_wireguard.c", 101: "arp.h", 102: "drop.h", 103: "srv6.h", 104: "icmp6.h", 105: "nodeport.h", 106: "lb.h",
        107: "mcast.h", 108: "ipv4.h", 109: "conntrack.h", 111: "trace.h", 112: "encap.h", 113: "encrypt.h",
        114: "host_firewall.h", 115: "nodeport_egress.h", 116: "ipv6.h", 117: "classifiers.h",
    ]

    /// METRIC_INGRESS 1, EGRESS 2, SERVICE 3 (bpf/lib/common.h enum metric_dir).
    public static func direction(_ value: UInt8) -> String {
        [1: "ingress", 2: "egress", 3: "service"][value] ?? "unknown direction"
    }
}

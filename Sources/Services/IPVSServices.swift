import NetAddress
import NetlinkCodec

/// kube-proxy's IPVS mode: each Service port a virtual server (its VIP bound on kube-ipvs0), its
/// endpoints the real servers; no names in the kernel (ipset comments are generic), so entries
/// are labelled by frontend. Read from `/proc/net/ip_vs` (what ipvsadm's fallback reads) or
/// from the IPVS generic-netlink family's dumps. A virtual server without a real server is the
/// no-endpoints signal (IPVS mode writes no REJECT rule).
public enum IPVSServices {
    /// `/proc/net/ip_vs`: "TCP  0A600001:01BB rr" lines, each followed by "  -> AC110002:1F90 Masq 1 0 0".
    public static func table(procText text: String) -> ServiceTable {
        var entries: [ServiceEntry] = []
        var problems: [String] = []
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { continue }
            if first == "TCP" || first == "UDP" || first == "SCTP" {
                guard words.count >= 2, let (address, port) = hostPort(words[1]) else {
                    problems.append("an /proc/net/ip_vs service line that does not parse: \(line.prefix(80))")
                    continue
                }
                entries.append(
                    ServiceEntry(
                        name: nil, proto: first.lowercased(), frontends: [.clusterIP(address, port)],
                        disposition: .noEndpoints, evidence: ["/proc/net/ip_vs: \(line.trimmed)"]))
            } else if first == "->", words.count >= 3, !entries.isEmpty, words[1] != "RemoteAddress:Port" {
                guard let (address, port) = hostPort(words[1]) else {
                    problems.append("an /proc/net/ip_vs real-server line that does not parse: \(line.prefix(80))")
                    continue
                }
                entries[entries.count - 1].endpoints.append(
                    ServiceEndpoint(address: address, port: port, rule: "IPVS real server (\(words[2]))"))
                entries[entries.count - 1].disposition = .endpoints
            }
        }
        return ServiceTable(mode: .ipvs, entries: entries, problems: problems)
    }

    /// The same from the generic-netlink dumps: services, and each one's destinations.
    public static func table(services: [(IPVS.Service, [IPVS.Destination])]) -> ServiceTable {
        let entries = services.compactMap { service, destinations -> ServiceEntry? in
            guard let address = service.address else { return nil }  // firewall-mark services carry no VIP
            let proto = [6: "tcp", 17: "udp", 132: "sctp"][Int(service.proto)] ?? "proto \(service.proto)"
            let endpoints = destinations.map {
                ServiceEndpoint(address: $0.address, port: $0.port, rule: "IPVS real server, weight \($0.weight)")
            }
            return ServiceEntry(
                name: nil, proto: proto, frontends: [.clusterIP(address, service.port)], endpoints: endpoints,
                disposition: endpoints.isEmpty ? .noEndpoints : .endpoints,
                evidence: ["IPVS virtual server \(proto) \(ServiceFrontend.join(address, service.port)) \(service.scheduler ?? "")"])
        }
        return ServiceTable(mode: .ipvs, entries: entries)
    }

    /// "0A600001:01BB" (hex IPv4 and port) or "[fd00:0000:…:0001]:01BB".
    static func hostPort(_ text: Substring) -> (IPAddress, UInt16)? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...], radix: 16) else { return nil }
        let host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") {
            return IPAddress.parse(String(host.dropFirst().dropLast())).map { ($0, port) }
        }
        guard host.count == 8, let value = UInt32(host, radix: 16) else { return nil }
        return (IPAddress(bytes: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]), port)
    }
}

extension Substring {
    fileprivate var trimmed: String { String(drop(while: { $0 == " " })) }
}

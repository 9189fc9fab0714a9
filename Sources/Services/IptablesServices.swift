import Firewall
import NetAddress
import NetlinkCodec

/// kube-proxy's iptables mode, read back from iptables-save: the nat table's `KUBE-SERVICES` and
/// `KUBE-NODEPORTS` dispatch rules give each Service port's frontends (their comments give the
/// name: chain names are hashes), its `KUBE-SVC-`/`KUBE-SVL-` chains the endpoints (`KUBE-SEP-`
/// chains, each ending in a DNAT), and the filter table's REJECT/DROP rules the ports with no
/// (local) endpoints. Rule order and option order are iptables-save's, not kube-proxy's: every
/// option is looked up by name.
public enum IptablesServices {
    /// Chains of a Service port that share its hash: cluster policy, local policy, external
    /// traffic, load-balancer source ranges, and the pre-1.24 local chain.
    static let portChainPrefixes = ["KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-XLB-"]

    /// The table from iptables-save's output (with or without -c).
    public static func table(fromSave bytes: [UInt8]) -> ServiceTable { table(from: KubeRuleScanner.scan(bytes)) }

    /// The table from nf_tables' rule messages of the nat and filter tables (iptables-nft's), as
    /// KubeRulesOverNetlink reads them; nil when a rule is not understood.
    public static func table(fromNetlink nat: [NetlinkMessage], filter: [NetlinkMessage]) -> ServiceTable? {
        KubeRulesOverNetlink.scanned(nat: nat, filter: filter).map(table(from:))
    }

    static func table(from scanned: KubeRuleScanner.Scanned) -> ServiceTable {
        var builder = Builder(chains: scanned.nat)
        let services = scanned.nat["KUBE-SERVICES"] ?? []
        for rule in services { builder.addDispatch(rule, nodePort: false) }
        // Node ports are reached only through KUBE-SERVICES' last rule.
        if services.contains(where: { $0.target == "KUBE-NODEPORTS" }) {
            for rule in scanned.nat["KUBE-NODEPORTS"] ?? [] { builder.addDispatch(rule, nodePort: true) }
        } else if !(scanned.nat["KUBE-NODEPORTS"] ?? []).isEmpty {
            builder.problems.append("KUBE-SERVICES does not jump to KUBE-NODEPORTS: the node ports there are not reached")
        }
        for (chain, rule) in scanned.filter { builder.addRejection(rule, chain: chain) }
        // kube-proxy hooks KUBE-SERVICES into nat PREROUTING (pods' traffic) and OUTPUT (the node's).
        for hook in ["PREROUTING", "OUTPUT"] where !scanned.hooked.contains(hook) && !services.isEmpty {
            builder.problems.append(
                "nat \(hook) has no jump to KUBE-SERVICES: \(hook == "PREROUTING" ? "pods'" : "the node's own") traffic to Services is not translated"
            )
        }
        var table = builder.table()
        table.masqueradeMissing = masqueradeMissing(scanned)
        return table
    }

    /// kube-proxy marks what needs SNAT (KUBE-MARK-MASQ) and masquerades it in KUBE-POSTROUTING,
    /// hooked from nat POSTROUTING; any link missing and hairpin and off-cluster traffic to
    /// Services goes out with the wrong source.
    static func masqueradeMissing(_ scanned: KubeRuleScanner.Scanned) -> String? {
        guard scanned.nat["KUBE-SERVICES"]?.isEmpty == false else { return nil }
        if !(scanned.nat["KUBE-POSTROUTING"] ?? []).contains(where: { $0.target == "MASQUERADE" }) {
            return "nat KUBE-POSTROUTING has no MASQUERADE rule"
        }
        if !scanned.postroutingHooked { return "nat POSTROUTING has no jump to KUBE-POSTROUTING" }
        if (scanned.nat["KUBE-MARK-MASQ"] ?? []).isEmpty { return "nat KUBE-MARK-MASQ has no rule: nothing is marked for masquerade" }
        return nil
    }

    /// A Service port's identity: its name and protocol.
    struct PortKey: Hashable {
        var name: ServicePortName
        var proto: String
    }

    /// Collects entries keyed by name and protocol, in the order the rules give them.
    struct Builder {
        let chains: [String: [KubeRule]]
        var entries: [ServiceEntry] = []
        var index: [PortKey: Int] = [:]
        /// The hash that names each entry's chains (`XPGD46QRK7WJZT7O` of `KUBE-SVC-XPGD46QRK7WJZT7O`).
        var hashes: [Int: String] = [:]
        var problems: [String] = []
        var uncommentedEndpoints = false

        init(chains: [String: [KubeRule]]) { self.chains = chains }

        /// A `KUBE-SERVICES` or `KUBE-NODEPORTS` rule jumping to a Service port's chain.
        mutating func addDispatch(_ rule: KubeRule, nodePort: Bool) {
            guard let target = rule.target,
                let prefix = IptablesServices.portChainPrefixes.first(where: { target.hasPrefix($0) })
            else { return }
            let hash = String(target.dropFirst(prefix.count))
            guard let comment = rule.comment, let proto = rule.proto, let port = rule.destinationPort else {
                problems.append("a KUBE-SERVICES rule kube-proxy would not write (no comment, protocol or port): jump to \(target)")
                return
            }
            let (label, kind) = Self.split(Substring(comment))
            guard let name = ServicePortName.parse(label) else {
                problems.append("a service rule whose comment names no namespace/service: \"\(comment)\"")
                return
            }
            let frontend: ServiceFrontend
            if nodePort {
                frontend = .nodePort(port)
            } else {
                guard let destination = rule.destination.flatMap(Self.address) else { return }
                switch kind {
                case "external IP": frontend = .externalIP(destination, port)
                case "loadbalancer IP": frontend = .loadBalancerIP(destination, port)
                default: frontend = .clusterIP(destination, port)
                }
            }
            let slot = entrySlot(name, proto: proto)
            if !entries[slot].frontends.contains(frontend) { entries[slot].frontends.append(frontend) }
            entries[slot].evidence.append("-A \(nodePort ? "KUBE-NODEPORTS" : "KUBE-SERVICES") … -j \(target)")
            if hashes[slot] == nil {
                hashes[slot] = hash
                fillEndpoints(slot, hash: hash)
            }
        }

        /// A filter-table rule rejecting (or dropping) a Service port's traffic for want of endpoints.
        /// `KUBE-SERVICES` holds cluster IPs; `KUBE-EXTERNAL-SERVICES` external and load-balancer
        /// IPs and node ports.
        mutating func addRejection(_ rule: KubeRule, chain: String) {
            guard let text = rule.comment, let proto = rule.proto, let port = rule.destinationPort else { return }
            let comment = Substring(text)
            let disposition: ServiceDisposition
            let label: Substring
            if comment.hasSuffix(" has no endpoints") {
                disposition = .noEndpoints
                label = comment.dropLast(" has no endpoints".count)
            } else if comment.hasSuffix(" has no local endpoints") {
                disposition = .noLocalEndpoints
                label = comment.dropLast(" has no local endpoints".count)
            } else {
                return
            }
            guard let name = ServicePortName.parse(label) else { return }
            let frontend: ServiceFrontend
            if let destination = rule.destination.flatMap(Self.address) {
                frontend = chain == "KUBE-SERVICES" ? .clusterIP(destination, port) : .externalIP(destination, port)
            } else {
                frontend = .nodePort(port)  // `-m addrtype --dst-type LOCAL`: a node port
            }
            let slot = entrySlot(name, proto: proto)
            // An address already met in the nat table keeps the kind its comment gave it there.
            let known = entries[slot].frontends.contains {
                $0 == frontend || ($0.address != nil && $0.address == frontend.address && $0.port == port)
            }
            if !known { entries[slot].frontends.append(frontend) }
            // "No local endpoints" concerns external traffic only (cluster traffic keeps its
            // endpoints); "no endpoints" outranks it.
            if disposition == .noEndpoints || entries[slot].disposition == .endpoints { entries[slot].disposition = disposition }
            entries[slot].evidence.append("-t filter -A \(chain) … \"\(comment)\" -j \(rule.target ?? "?")")
        }

        mutating func entrySlot(_ name: ServicePortName, proto: String) -> Int {
            let key = PortKey(name: name, proto: proto)
            if let slot = index[key] { return slot }
            entries.append(ServiceEntry(name: name, proto: proto))
            index[key] = entries.count - 1
            return entries.count - 1
        }

        /// The endpoints behind a Service port: the `KUBE-SEP-` chains its cluster and local
        /// chains jump to, with the share iptables' probability chain gives each.
        mutating func fillEndpoints(_ slot: Int, hash: String) {
            var endpoints: [ServiceEndpoint] = []
            for prefix in ["KUBE-SVC-", "KUBE-SVL-", "KUBE-XLB-"] {
                guard let rules = chains[prefix + hash] else { continue }
                if prefix != "KUBE-SVC-" { entries[slot].localPolicy = true }
                var remaining = 1.0
                for rule in rules {
                    guard let target = rule.target, target.hasPrefix("KUBE-SEP-") else { continue }
                    if rule.recentCheck {  // ClientIP affinity: a recent-match rule per endpoint, before the spread
                        entries[slot].affinitySeconds = rule.seconds
                        continue
                    }
                    let probability = rule.probability ?? 1
                    let share = remaining * probability
                    remaining -= share
                    guard let endpoint = endpoint(of: target, share: prefix == "KUBE-SVC-" ? share : nil) else { continue }
                    if let known = endpoints.firstIndex(where: { $0.address == endpoint.address && $0.port == endpoint.port }) {
                        if endpoints[known].share == nil { endpoints[known].share = endpoint.share }
                    } else {
                        endpoints.append(endpoint)
                    }
                }
            }
            entries[slot].endpoints = endpoints
        }

        /// A `KUBE-SEP-` chain's DNAT destination.
        mutating func endpoint(of chain: String, share: Double?) -> ServiceEndpoint? {
            guard let rules = chains[chain] else {
                problems.append("\(chain) is jumped to but does not exist in the nat table")
                return nil
            }
            for rule in rules where rule.target == "DNAT" {
                if !rule.commented { uncommentedEndpoints = true }
                guard let destination = rule.toDestination, let (address, port) = Self.hostPort(Substring(destination)) else { continue }
                return ServiceEndpoint(address: address, port: port, share: share, rule: chain)
            }
            problems.append("\(chain) has no DNAT rule")
            return nil
        }

        func table() -> ServiceTable {
            ServiceTable(mode: .iptables, entries: entries, largeCluster: uncommentedEndpoints, problems: problems)
        }

        /// "ns/svc:port cluster IP" → ("ns/svc:port", "cluster IP"); a bare name has no kind.
        static func split(_ comment: Substring) -> (Substring, Substring) {
            for kind in [" cluster IP", " external IP", " loadbalancer IP"] where comment.hasSuffix(kind) {
                return (comment.dropLast(kind.count), kind.dropFirst())
            }
            return (comment, "")
        }

        /// "10.96.0.10/32" or "10.96.0.10".
        static func address(_ text: String) -> IPAddress? {
            IPAddress.parse(text.hasSuffix("/32") || text.hasSuffix("/128") ? String(text[..<text.lastIndex(of: "/")!]) : text)
        }

        /// "10.244.1.5:8080" or "[fd00::5]:8080".
        static func hostPort(_ text: Substring) -> (IPAddress, UInt16)? {
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                let host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), let address = IPAddress.parse(String(host)) else {
                    return nil
                }
                return (address, port)
            }
            guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]),
                let address = IPAddress.parse(String(text[..<colon]))
            else { return nil }
            return (address, port)
        }
    }
}

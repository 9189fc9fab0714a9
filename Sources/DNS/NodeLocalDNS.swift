import Diagnosis
import NetAddress

/// NodeLocal DNSCache as the node shows it: the `nodelocaldns` link node-cache creates (a dummy
/// link) with its listen addresses (169.254.20.10 by default, and the kube-dns Service address in
/// iptables mode), and the rules it keeps in place every sync: raw-table NOTRACK ("NodeLocal DNS
/// Cache: skip conntrack") so queries to those addresses skip conntrack and kube-proxy's DNAT,
/// filter ACCEPT ("NodeLocal DNS Cache: allow DNS traffic").
public struct NodeLocalDNS: Sendable {
    public struct LinkView: Sendable {
        public var kind: String?
        public var up: Bool
        public var addresses: [IPAddress]

        public init(kind: String?, up: Bool, addresses: [IPAddress]) {
            self.kind = kind
            self.up = up
            self.addresses = addresses
        }
    }

    public static let linkName = "nodelocaldns"
    public static let skipConntrack = "NodeLocal DNS Cache: skip conntrack"
    public static let allowTraffic = "NodeLocal DNS Cache: allow DNS traffic"

    public var link: LinkView?
    /// The NOTRACK and ACCEPT rules, as iptables-save writes them.
    public var notrackRules: [String]
    public var acceptRules: [String]
    /// Why the rules could not be read (nil: read).
    public var rulesProblem: String?
    /// Why the node's links could not be read (nil: read): then a missing link is not known to be missing.
    public var linkProblem: String?

    public init(link: LinkView?, notrackRules: [String], acceptRules: [String], rulesProblem: String? = nil) {
        self.link = link
        self.notrackRules = notrackRules
        self.acceptRules = acceptRules
        self.rulesProblem = rulesProblem
    }

    /// The addresses the NOTRACK rules name (`-d A/32` or `-s A/32`).
    public var untrackedAddresses: Set<IPAddress> {
        Set(
            notrackRules.flatMap { rule -> [IPAddress] in
                let words = rule.split(separator: " ")
                return zip(words, words.dropFirst()).compactMap { flag, value in
                    flag == "-d" || flag == "-s" ? IPAddress.parse(String(value.split(separator: "/").first ?? "")) : nil
                }
            })
    }

    /// Whether the node runs (or ran) NodeLocal DNSCache for this pod: its link or its rules
    /// exist, or the pod's nameserver is a link-local address (169.254.0.0/16).
    public func inUse(podNameservers: [IPAddress]) -> Bool {
        link != nil || !notrackRules.isEmpty || podNameservers.contains { $0.isIPv4 && $0.bytes.prefix(2) == [169, 254] }
    }
}

extension DNSChecks {
    /// NODELOCALDNS_BROKEN: the cache in use for this pod, and its link, its address or its
    /// rules missing, so that queries go nowhere (untracked, never DNATed) or bypass it.
    static func nodeLocal(_ facts: DNSFacts) -> [Finding] {
        guard let cache = facts.nodeLocal, cache.inUse(podNameservers: facts.resolvConf.nameservers) else { return [] }
        let servers = facts.resolvConf.nameservers
        let untracked = cache.untrackedAddresses
        let evidence =
            cache.notrackRules.prefix(4).map { $0 }
            + (cache.link.map { link in
                [
                    "link \(NodeLocalDNS.linkName) (\(link.kind ?? "?")) \(link.up ? "up" : "down, as node-cache leaves it"): \(link.addresses.map(\.description).joined(separator: ", "))"
                ]
            } ?? ["no link \(NodeLocalDNS.linkName)"])
        let remedy = FindingCode.nodeLocalDNSBroken.entry?.remedy
        guard let link = cache.link else {
            // Not read is not absent: the session says what could not be read.
            guard cache.linkProblem == nil else { return [] }
            let stranded = servers.filter(untracked.contains)
            return [
                Finding(
                    .nodeLocalDNSBroken, .error,
                    "NodeLocal DNSCache's rules are here but its \(NodeLocalDNS.linkName) link is not: \(stranded.isEmpty ? "the pod's nameservers are not among its addresses" : "queries to \(DNSChecks.list(stranded)) skip conntrack, so kube-proxy never translates them, and no local address takes them"): lookups fail.",
                    hop: "node: \(NodeLocalDNS.linkName)", evidence: evidence, remedy: remedy)
            ]
        }
        // The link being down is no fault: node-cache never sets its dummy link up, and the
        // kernel still gives a down link's addresses their local routes, so the cache answers
        // on them (kubernetes/dns#666). Whether it answers is the lookup's to say.
        var findings: [Finding] = []
        let unbound = servers.filter { $0.isIPv4 && $0.bytes.prefix(2) == [169, 254] && !link.addresses.contains($0) }
        if !unbound.isEmpty {
            findings.append(
                Finding(
                    .nodeLocalDNSBroken, .error,
                    "The pod's nameserver \(DNSChecks.list(unbound)) is NodeLocal DNSCache's kind of address, but not on the \(NodeLocalDNS.linkName) link (\(DNSChecks.list(link.addresses))).",
                    hop: "node: \(NodeLocalDNS.linkName)", evidence: evidence, remedy: remedy))
        }
        let tracked = link.addresses.filter { $0.isIPv4 && !untracked.contains($0) }
        if cache.rulesProblem == nil, !tracked.isEmpty {
            findings.append(
                Finding(
                    .nodeLocalDNSBroken, .warning,
                    "No NOTRACK rule (\"\(NodeLocalDNS.skipConntrack)\") for \(DNSChecks.list(tracked)) on the \(NodeLocalDNS.linkName) link: queries to the cache go through conntrack (and kube-proxy's DNAT for the kube-dns address), bypassing it.",
                    hop: "node: raw table", evidence: evidence, remedy: remedy))
        }
        return findings
    }
}

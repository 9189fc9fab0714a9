import NetAddress

/// What the pod's resolver makes of the answers, walked the way glibc's res_search walks them:
/// the candidate names in order, each asked for A and AAAA of the first nameserver that answers
/// (the next one only on silence, an error or SERVFAIL); NXDOMAIN or an empty answer moves on to
/// the next candidate; a truncated UDP answer is asked again over TCP; a candidate no
/// nameserver answers for ends the lookup (glibc gives up with TRY_AGAIN).
public struct DNSResolution: Sendable {
    public enum Status: String, Sendable {
        /// A candidate answered with addresses.
        case resolved
        /// Every candidate is NXDOMAIN or has no record of either type.
        case notFound
        /// A candidate got no usable answer from any nameserver.
        case failed
    }

    public var status: Status
    /// The name that answered (resolved) or the one no server answered for (failed).
    public var name: DNSName?
    public var addresses: [IPAddress]
    public var server: IPAddress?
    /// The queries the resolver sent, in order, each as "NAME TYPE → outcome".
    public var queries: [String]
    /// The candidate names the resolver got to (those after the one that answered it never asks).
    public var walked: [DNSName]

    public init(_ facts: DNSFacts) {
        var queries: [String] = []
        var walked: [DNSName] = []
        for candidate in facts.candidates {
            walked.append(candidate)
            var answered = false
            var found: [IPAddress] = []
            for server in facts.nameservers {
                let attempts = [DNSRecordType.a, .aaaa].map { type in Self.answer(facts, server: server, name: candidate, type: type) }
                for (type, exchange) in zip([DNSRecordType.a, .aaaa], attempts) {
                    queries.append("\(candidate) \(type) @\(server): \(exchange?.summary ?? "not asked")")
                }
                let responses = attempts.compactMap { $0?.response }
                // SERVFAIL, REFUSED, silence: the resolver tries the next nameserver.
                let usable = responses.filter { $0.code == .noError || $0.code == .nameError }
                guard !usable.isEmpty else { continue }
                answered = true
                found = usable.flatMap(\.addresses)
                if !found.isEmpty {
                    self.init(status: .resolved, name: candidate, addresses: found, server: server, queries: queries, walked: walked)
                    return
                }
                break  // NXDOMAIN or no record: the next candidate
            }
            if !answered {
                self.init(status: .failed, name: candidate, addresses: [], server: nil, queries: queries, walked: walked)
                return
            }
        }
        self.init(status: .notFound, name: nil, addresses: [], server: nil, queries: queries, walked: walked)
    }

    init(status: Status, name: DNSName?, addresses: [IPAddress], server: IPAddress?, queries: [String], walked: [DNSName]) {
        self.walked = walked
        self.status = status
        self.name = name
        self.addresses = addresses
        self.server = server
        self.queries = queries
    }

    /// The UDP exchange for a query, or the TCP one when the UDP answer was truncated.
    static func answer(_ facts: DNSFacts, server: IPAddress, name: DNSName, type: DNSRecordType) -> DNSExchange? {
        let udp = facts.exchanges(server: server, transport: .udp, name: name, type: type).first
        if udp?.response?.truncated == true { return facts.exchanges(server: server, transport: .tcp, name: name, type: type).first ?? udp }
        return udp
    }
}

import NetAddress

/// A resolv.conf read the way glibc's resolver reads it (resolv/res_init.c): a keyword must start
/// the line; `domain` and `search` replace each other (the last wins); three nameservers at most
/// (MAXNS), later ones ignored; ndots capped at 15, timeout at 30, attempts at 5. Musl (Alpine
/// images) reads the same keywords.
public struct ResolvConf: Sendable, Equatable {
    public var nameservers: [IPAddress] = []
    /// Nameserver lines past the third, or with no address netdoctor can read: said, not used.
    public var ignoredNameservers: [String] = []
    public var search: [String] = []
    /// Search domains past the 32 Kubernetes allows (MaxDNSSearchPaths): listed, not queried
    /// (each would multiply the queries sent; a file of thousands is not a pod's).
    public var ignoredSearch: [String] = []
    public var ndots = 1
    /// Seconds per try, and tries per nameserver (RES_TIMEOUT 5, RES_DFLRETRY 2).
    public var timeoutSeconds = 5
    public var attempts = 2
    /// `single-request`, `single-request-reopen`, `use-vc`, `rotate`, `edns0`, `no-aaaa`, …
    public var flags: [String] = []
    /// Lines that are none of the keywords (a resolver skips them).
    public var unknownLines: [String] = []

    public static let maximumNameservers = 3
    public static let maximumSearchDomains = 32

    public init() {}

    public static func parse(_ text: String) -> ResolvConf {
        var conf = ResolvConf()
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = String(rawLine)
            guard let first = line.first, first != "#", first != ";" else { continue }
            // glibc matches the keyword at the line's start, followed by a space or tab.
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let keyword = words.first, first != " ", first != "\t" else {
                conf.unknownLines.append(line)
                continue
            }
            let values = Array(words.dropFirst())
            switch keyword {
            case "nameserver":
                guard let value = values.first else { continue }
                // A scope (`fe80::1%eth0`) is the link's, not the address's.
                let address = IPAddress.parse(String(value.split(separator: "%").first ?? ""))
                if let address, conf.nameservers.count < maximumNameservers {
                    conf.nameservers.append(address)
                } else {
                    conf.ignoredNameservers.append(value)
                }
            case "domain":
                conf.search = values.first.map { [$0] } ?? []
                conf.ignoredSearch = []
            case "search":
                conf.search = Array(values.prefix(maximumSearchDomains))
                conf.ignoredSearch = Array(values.dropFirst(maximumSearchDomains))
            case "options":
                for option in values { conf.apply(option: option) }
            case "sortlist":
                continue
            default:
                conf.unknownLines.append(line)
            }
        }
        return conf
    }

    mutating func apply(option: String) {
        let parts = option.split(separator: ":", maxSplits: 1)
        let value = parts.count == 2 ? Int(parts[1]) : nil
        switch parts.first {
        case "ndots": if let value { ndots = min(max(value, 0), 15) }
        case "timeout": if let value { timeoutSeconds = min(max(value, 1), 30) }
        case "attempts": if let value { attempts = min(max(value, 1), 5) }
        default: flags.append(option)
        }
    }

    /// The names a lookup of `name` queries, in order (glibc's res_search): an absolute name as it
    /// is; a name with at least ndots dots as it is first, then with each search domain; a name
    /// with fewer, with each search domain first and as it is last.
    public func candidates(for name: DNSName) -> [DNSName] {
        if name.absolute { return [name] }
        let domains = search.compactMap { DNSName($0 + ".") }
        let searched = domains.compactMap { name.appending($0) }
        let asIs = DNSName(labels: name.labels, absolute: true)
        return name.dots >= ndots ? [asIs] + searched : searched + [asIs]
    }
}

extension ResolvConf {
    /// Every query the resolver could send for `name`: each candidate of the search list, A and
    /// AAAA, to each nameserver (127.0.0.1 when none, as glibc does), over UDP and TCP; and the
    /// control name's, when it is not a candidate already.
    public func queries(for name: DNSName, control: DNSName?) -> [(DNSQuery, IPAddress, DNSTransport)] {
        let servers = nameservers.isEmpty ? [IPAddress.parse("127.0.0.1")!] : nameservers
        let candidates = candidates(for: name)
        var queries: [(DNSQuery, IPAddress, DNSTransport)] = []
        for candidate in candidates + (control.map { candidates.contains($0) ? [] : [$0] } ?? []) {
            for server in servers {
                for transport in DNSTransport.allCases {
                    for type in [DNSRecordType.a, .aaaa] {
                        queries.append((DNSQuery(id: UInt16.random(in: 1...UInt16.max), name: candidate, type: type), server, transport))
                    }
                }
            }
        }
        return queries
    }
}

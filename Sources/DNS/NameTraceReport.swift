import ConfigFormats
import Diagnosis

/// `trace SRC NAME[:PORT]`: the name resolved as SRC's resolver would (a DNS report), then the
/// trace to what it names; or, when it does not resolve, that is the verdict, with the reason.
/// The trace's own keys stay where they are in the JSON; `dns` says how the name was resolved.
public struct NameTraceReport: Report {
    public var dns: DNSReport
    /// The trace to the address the name resolved to; nil when it did not resolve.
    public var traced: (any Report)?

    public init(dns: DNSReport, traced: (any Report)?) {
        self.dns = dns
        self.traced = traced
    }

    public var command: String { "trace" }

    /// The DNS findings that explain a failed lookup, or that stand beside a good one (a mismatch,
    /// a slow server), then the trace's.
    public var findings: [Finding] { dns.findings + (traced?.findings ?? []) }

    public var exitStatus: Int32 { max(traced?.exitStatus ?? 1, dns.exitStatus) }

    public var jsonFields: [(String, ConfigValue)] {
        let resolution = dns.resolution
        let summary: ConfigValue = .fields([
            "name": .string(dns.facts.name.description), "status": .string(resolution.status.rawValue),
            "resolvedAs": .text(resolution.name?.description), "addresses": .texts(resolution.addresses.map(\.description)),
            "server": .text(resolution.server?.description), "queries": .texts(resolution.queries),
        ])
        guard let traced else { return [("dns", summary), ("verdict", .string("the name does not resolve"))] }
        return [("dns", summary)] + traced.jsonFields
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let resolution = dns.resolution
        let answer: String
        switch resolution.status {
        case .resolved:
            answer =
                "\(resolution.addresses.map(\.description).joined(separator: ", ")) (as \(resolution.name?.description ?? "?"), from \(resolution.server?.description ?? "?"))"
        case .notFound: answer = style.red("does not resolve: NXDOMAIN or no address for every name the search list makes")
        case .failed: answer = style.red("no nameserver answered for \(resolution.name?.description ?? "it")")
        }
        let head = HumanSection(
            "Name \(dns.facts.name) from \(dns.facts.pod)",
            rows: [
                ("resolved", answer),
                (
                    "queries",
                    "\(resolution.queries.count) sent, through \(dns.facts.nameservers.map(\.description).joined(separator: ", "))"
                ),
            ])
        guard let traced else { return [head] + dns.humanSections(style: style).dropFirst() }
        return [head] + traced.humanSections(style: style)
    }
}

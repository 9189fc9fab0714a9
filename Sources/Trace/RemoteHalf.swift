import Checks
import ConfigFormats
import Diagnosis
import KernelState
import NetAddress
import NetSystem
import PathFacts

/// Where a node's agent listens unless told otherwise: the node's address, this port.
public enum AgentDefaults {
    public static let port = 9449

    /// ADDR:PORT, [V6]:PORT, or ADDR alone (the default port; an IPv6 address alone too, as the
    /// downward API's status.hostIP gives it on an IPv6 node). Port 0 ("any free port") only
    /// where the agent listens.
    public static func endpoint(_ text: String, allowingPortZero: Bool = false) -> (host: String, port: Int)? {
        if text.contains(":"), !text.hasPrefix("["), let address = IPAddress.parse(text), !address.isIPv4 { return (text, port) }
        let host: Substring, rest: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            rest = text[text.index(after: close)...]
        } else {
            let colon = text.firstIndex(of: ":") ?? text.endIndex
            host = text[..<colon]
            rest = text[colon...]
        }
        guard !host.isEmpty else { return nil }
        if rest.isEmpty { return (String(host), port) }
        guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()), ((allowingPortZero ? 0 : 1)...65535).contains(number) else {
            return nil
        }
        return (String(host), number)
    }

    /// A comma-separated list of endpoints (as status.hostIPs gives a dual-stack node's
    /// addresses: "10.0.0.5,fd00::5"); nil when any is not one.
    public static func endpoints(_ text: String, allowingPortZero: Bool = false) -> [(host: String, port: Int)]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        guard !parts.isEmpty, parts.count <= 8 else { return nil }
        let parsed = parts.compactMap { endpoint($0, allowingPortZero: allowingPortZero) }
        return parsed.count == parts.count ? parsed : nil
    }
}

extension String {
    var trimmingSpaces: String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

/// What the local trace asks the remote node's agent: watch the path from where the packet
/// arrives (the node address it was sent to, encapsulated or not) to the destination pod, and
/// back.
public struct RemoteTraceRequest: Sendable, Equatable {
    public var sourceAddress: IPAddress
    public var destinationAddress: IPAddress
    /// The remote node's address this node sends to (the FDB entry's dst, or the gateway).
    public var nodeAddress: IPAddress
    /// True when the packet arrives inside VXLAN (or another overlay) rather than routed.
    public var encapsulated: Bool
    /// How long the remote captures may stay open before the agent closes them itself.
    public var windowMilliseconds: Int
    /// The probe to come, so that the remote captures take only its packets (the ICMP sequence
    /// is known only once it is sent: `finish` brings it).
    public var proto: TraceProtocol
    public var port: UInt16?
    /// --drop-reasons: the agent asks its kernel why it drops the probe too. An agent that
    /// predates it ignores the key and reports none.
    public var dropReasons = false

    public init(
        sourceAddress: IPAddress, destinationAddress: IPAddress, nodeAddress: IPAddress, encapsulated: Bool, windowMilliseconds: Int,
        proto: TraceProtocol = .icmp, port: UInt16? = nil, dropReasons: Bool = false
    ) {
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
        self.nodeAddress = nodeAddress
        self.encapsulated = encapsulated
        self.windowMilliseconds = windowMilliseconds
        self.proto = proto
        self.port = port
        self.dropReasons = dropReasons
    }

    public var json: ConfigValue {
        .fields([
            "source": .string(sourceAddress.description), "destination": .string(destinationAddress.description),
            "nodeAddress": .string(nodeAddress.description), "encapsulated": .bool(encapsulated),
            "windowMilliseconds": .int(windowMilliseconds), "protocol": .string(proto.rawValue), "port": .int(port.map(Int.init)),
            "dropReasons": .bool(dropReasons),
        ])
    }

    public init?(json: ConfigValue) {
        guard let source = json["source"]?.string.flatMap(IPAddress.parse),
            let destination = json["destination"]?.string.flatMap(IPAddress.parse),
            let node = json["nodeAddress"]?.string.flatMap(IPAddress.parse)
        else { return nil }
        let proto = json["protocol"].map { $0.string.flatMap(TraceProtocol.init(rawValue:)) } ?? .icmp
        guard let proto else { return nil }
        self.init(
            sourceAddress: source, destinationAddress: destination, nodeAddress: node,
            encapsulated: json["encapsulated"]?.bool ?? false, windowMilliseconds: json["windowMilliseconds"]?.int ?? 5000,
            proto: proto, port: json["port"]?.int.flatMap(UInt16.init(exactly:)), dropReasons: json["dropReasons"]?.bool ?? false)
    }

    /// What the probe will look like, but for its ICMP sequence.
    var expectedSignature: ProbeSignature {
        ProbeSignature(
            proto: proto, source: sourceAddress, destination: destinationAddress, port: proto == .icmp ? nil : port, echoSequence: nil)
    }
}

/// The remote node's half of the path as its agent sees it: hops in the order the request
/// crosses them, what each saw, and the findings there.
public struct RemoteHalfView: Sendable {
    public var node: String
    public var hops: [ObservedHop]
    public var findings: [Finding]
    /// Capture points that could not be watched for the whole probe.
    public var problems: [String]
    /// True when the destination pod was found on that node.
    public var hasDestination: Bool
    /// --drop-reasons: what that node's kernel dropped of the probe, placed on its half (nil:
    /// not asked, or an agent that does not report them).
    public var kernelDrops: [KernelDropFact]?

    public init(node: String, hops: [ObservedHop], findings: [Finding], problems: [String], hasDestination: Bool) {
        self.node = node
        self.hops = hops
        self.findings = findings
        self.problems = problems
        self.hasDestination = hasDestination
    }

    /// Its keys but the findings: the agent answers with a report around them.
    public var jsonFields: [(String, ConfigValue)] {
        [
            ("node", .string(node)), ("hasDestination", .bool(hasDestination)),
            ("hops", .array(hops.map(\.json))),
            ("problems", .texts(problems)),
        ] + (kernelDrops.map { [("kernelDrops", .array($0.map(\.json)))] } ?? [])
    }

    public var json: ConfigValue { .fields(jsonFields + [("findings", .array(findings.map(\.json)))]) }

    /// Read back on the caller's side: the hops carry the remote node's name, and no link
    /// (their namespaces are not on this machine), but their MTU and state.
    public init?(json: ConfigValue) {
        guard let node = json["node"]?.string, let hops = json["hops"]?.array else { return nil }
        self.node = node
        self.hasDestination = json["hasDestination"]?.bool ?? false
        self.hops = hops.compactMap { ObservedHop(json: $0, node: node) }
        self.findings = json["findings"]?.array?.compactMap(Finding.init(json:)) ?? []
        self.problems = json["problems"]?.array?.compactMap(\.string) ?? []
        // Bounded: a probe's drops are a handful.
        self.kernelDrops = json["kernelDrops"]?.array.map { Array($0.prefix(64)).compactMap(KernelDropFact.init(json:)) }
    }
}

/// The remote node's agent, as the trace sees it; the transport (HTTP/JSON, TLS, token) lives
/// in AgentClient. Every call is bounded in time and throws when the agent cannot answer.
public protocol RemoteNodeAgent: Sendable {
    /// Where it was reached, for messages ("192.168.77.2:9449").
    var endpoint: String { get }
    /// The static view of the remote half, and captures and firewall counters started there.
    func prepare(_ request: RemoteTraceRequest) throws -> (session: String, view: RemoteHalfView)
    /// Ends the session: captures stopped, counters read again, each hop marked.
    func finish(session: String, signature: ProbeSignature) throws -> RemoteHalfView
    /// Ends the session without a probe (it could not be sent): the captures close now.
    func abandon(session: String) throws
    /// The static view only (hops with their MTUs, and the checks), for mtu-probe.
    func path(_ request: RemoteTraceRequest) throws -> RemoteHalfView
    /// Answers when the agent is up (GET /healthz, 200); throws why not.
    func health() throws
}

import CNIDetection
import ConfigFormats
import NetAddress
import PathFacts
import Pods
import RuntimeModel
import TestSupport
import Testing
import Trace

/// A trace recorded on the lab (scripts/record-path-facts), judged again here without root: the
/// same gatherer over the kernel's recorded answers, the same checks.
struct RecordedTrace {
    let name: String
    let node: RecordedNode
    let ends: TraceEnds
    let probe: ProbeFacts?
    /// The report the live trace printed.
    let live: ConfigValue

    static func directory(_ name: String) -> String { Repository.root + "/Tests/TraceChecksTests/Fixtures/" + name }

    init(_ name: String, at directory: String? = nil) throws {
        self.name = name
        let directory = directory ?? Self.directory(name)
        node = try RecordedNode(directory: directory)
        let endsJSON = try JSONParser.parse(bytes: try #require(node.recorded("trace-ends.json"), "\(name): trace-ends.json"))
        ends = try Self.ends(endsJSON)
        probe = try node.recorded("probe.json").map { try JSONParser.parse(bytes: $0) }.flatMap(ProbeFacts.init(json:))
        live = try JSONParser.parse(bytes: try #require(node.recorded("trace.json"), "\(name): trace.json"))
    }

    func facts() throws -> PathFacts {
        try PathGatherer(access: node).local(
            from: try node.namespace(of: ends.source), label: ends.source.name, sourceAddress: ends.sourceAddress,
            to: ends.destinationAddress, destinationName: ends.destinationName, destinationPod: ends.destinationPod)
    }

    /// The facts as the trace judged them: after the probe when one was sent.
    func report() throws -> TraceReport {
        var facts = try facts()
        if let probe { PathGatherer(access: node).afterProbe(&facts, answered: probe.outcome.reachable) }
        return TraceJudgement.judge(ends, facts: facts, probe: probe, mtuRemedy: { "the CNI's mtu setting" })
    }

    static func ends(_ json: ConfigValue) throws -> TraceEnds {
        func pod(_ json: ConfigValue) throws -> Pod {
            let name = try #require(json["name"]?.string)
            let cache: ConfigValue = .fields([
                "kind": .string("cniCacheV1"), "containerId": .string(json["sandboxID"]?.string ?? name),
                "ifName": .string(json["interface"]?.string ?? "eth0"), "networkName": .string("recorded"),
                "result": .fields(["ips": .array((json["addresses"]?.array ?? []).map { .fields(["address": $0]) })]),
            ])
            let entry = try #require(CacheEntry.parse(bytes: JSONWriter.bytes(cache)))
            return Pod(
                namespace: json["namespace"]?.string, name: name, containerID: entry.containerID ?? name, attachments: [entry],
                netnsPath: nil)
        }
        return TraceEnds(
            source: try pod(try #require(json["source"])),
            sourceAddress: try #require(json["sourceAddress"]?.string.flatMap(IPAddress.parse)),
            destinationName: try #require(json["destinationName"]?.string),
            destinationAddress: try #require(json["destinationAddress"]?.string.flatMap(IPAddress.parse)),
            destinationPod: try json["destinationPod"].flatMap { $0.object == nil ? nil : try pod($0) })
    }
}

extension TraceReport {
    var errors: [(code: String, hop: String)] {
        findings.filter { $0.severity == .error }.map { ($0.code.rawValue, $0.hop ?? "") }
    }
}

extension ConfigValue {
    var errorFindings: [(code: String, hop: String)] {
        (self["findings"]?.array ?? []).compactMap { finding in
            guard finding["severity"]?.string == "error", let code = finding["code"]?.string else { return nil }
            return (code, finding["hop"]?.string ?? "")
        }
    }
}

import ConfigFormats
import Foundation
import NodeFiles
import TestSupport
import Testing

/// `agent --watch` on the lab (lab up --agents --watch: both agents watch, every 2 s): a healthy
/// lab gives no incident over ten intervals; each fault family becomes an incident on the right
/// node with the right code within two intervals; the metrics are Prometheus text that a strict
/// parser accepts, with bounded labels.
extension PrivilegedSuite {
    @Suite("Privileged: watching agents, incidents and metrics")
    struct WatchLabTests {
        static let interval = 2.0

        func up(_ extra: [String] = []) throws {
            let up = try Binary.run(["lab", "up", "--agents", "--watch"] + extra, timeout: 120_000)
            try #require(up.status == 0, "lab up --agents --watch \(extra): \(up.errorText)")
        }

        func incidents(on node: String = "node1") throws -> (status: Int32, json: ConfigValue) {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor", "incidents", "-o", "json"], timeout: 30_000)
            return (result.status, try JSONParser.parse(bytes: result.output))
        }

        /// Waits up to two intervals (and the trace that explains) for an incident with `code`.
        func waitForIncident(_ code: String, on node: String = "node1") throws -> ConfigValue? {
            let deadline = Date().addingTimeInterval(2 * Self.interval + 6)
            while Date() < deadline {
                let found = (try incidents(on: node).json["incidents"]?.array ?? []).first {
                    $0["codes"]?.array?.contains(.string(code)) == true
                }
                if let found { return found }
                usleep(500_000)
            }
            return nil
        }

        @Test("healthy for ten intervals: no incident on either node, both peers probed")
        func healthy() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            usleep(UInt32(10 * Self.interval * 1_000_000))
            for node in ["node1", "node2"] {
                let (status, json) = try incidents(on: node)
                #expect(status == 0 && json["incidents"]?.array?.isEmpty == true, "\(node): \(json["incidents"] ?? .null)")
            }
            let metrics = try self.metrics(on: "node1")
            let samples = try PrometheusText.parse(metrics)
            // Prometheus' own linter, where Debian's prometheus package put it (scripts/setup).
            let promtool = try #require(
                ChildProcess.run(
                    "/usr/bin/promtool", arguments: ["check", "metrics"], environment: ["PATH=/usr/bin:/bin"],
                    input: Array(metrics.utf8), timeoutMilliseconds: 10_000), "promtool (scripts/setup installs it)")
            #expect(promtool.status == 0, "promtool check metrics: \(promtool.outputText) \(promtool.errorText)")
            let probes = samples.filter { $0.name == "netdoctor_probe_duration_seconds_count" && $0.labels["target_node"] == "node2" }
            #expect(
                probes.contains { $0.labels["kind"] == "pod" && $0.value >= 8 }
                    && probes.contains { $0.labels["kind"] == "node" && $0.value >= 8 }, "\(probes)")
            #expect(samples.contains { $0.name == "netdoctor_path_mtu_bytes" && $0.value == 1450 })
            #expect(!samples.contains { $0.name == "netdoctor_probe_failures_total" && $0.value > 0 })
            // The node's own check each interval: what fills up, and no finding.
            #expect(samples.contains { $0.name == "netdoctor_conntrack_max" && $0.value > 0 && $0.labels["node"] == "node1" })
            #expect(
                samples.contains { $0.name == "netdoctor_ipam_addresses" && $0.labels["state"] == "used" && $0.value == 2 }
                    && samples.contains { $0.name == "netdoctor_ipam_addresses" && $0.labels["state"] == "free" && $0.value == 251 })
            #expect(
                !samples.contains { $0.name == "netdoctor_check_findings" && $0.value > 0 },
                "\(samples.filter { $0.name == "netdoctor_check_findings" })")
        }

        @Test("a full pool shows in the gauges and as IPAM_EXHAUSTED by code within an interval; check --node asks the agent")
        func nodeCheckGauges() throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "IPAM_EXHAUSTED"], timeout: 60_000).status == 0)
            usleep(UInt32(2 * Self.interval * 1_000_000) + 1_000_000)
            let samples = try PrometheusText.parse(try metrics(on: "node1"))
            #expect(samples.contains { $0.name == "netdoctor_ipam_addresses" && $0.labels["state"] == "free" && $0.value == 0 })
            #expect(samples.contains { $0.name == "netdoctor_ipam_addresses" && $0.labels["state"] == "leaked" && $0.value == 251 })
            #expect(
                samples.contains {
                    $0.name == "netdoctor_check_findings" && $0.labels["code"] == "IPAM_EXHAUSTED" && $0.labels["severity"] == "error"
                        && $0.value == 1
                })
            // node2 asks node1's agent for its check: node1's verdict, node2's exit status for it.
            let remote = try Binary.run(["lab", "exec", "node2", "--", "netdoctor", "check", "--node", "192.168.77.1", "-o", "json"])
            let json = try JSONParser.parse(bytes: remote.output)
            #expect(remote.status == 1, "\(remote.errorText)")
            #expect(json["command"]?.string == "check" && json["agent"]?.string == "192.168.77.1:9449")
            #expect(json["findings"]?.array?.contains { $0["code"]?.string == "IPAM_EXHAUSTED" } == true)
        }

        @Test(
            "each fault family becomes an incident with its code, on the node that probes across it, within two intervals",
            arguments: [
                ("FIREWALL_DROP", ["--node", "node2"], "FIREWALL_DROP"), ("MTU_MISMATCH", [], "MTU_MISMATCH"),
                ("OVERLAY_FDB_MISSING", [], "OVERLAY_FDB_MISSING"),
            ])
        func faults(fault: String, options: [String], code: String) throws {
            try Privilege.require()
            try up()
            defer { _ = try? Binary.run(["lab", "down"]) }
            let broken = try Binary.run(["lab", "break", fault] + options)
            try #require(broken.status == 0, "\(broken.errorText)")
            let incident = try waitForIncident(code)
            let seen = try incidents().json
            #expect(incident != nil, "\(fault): \(seen)")
            #expect(
                incident?["sourceNode"]?.string == "node1" && incident?["targetNode"]?.string == "node2"
                    && incident?["kind"]?.string == "pod")
            #expect((incident?["report"]?["hops"]?.array?.count ?? 0) >= 5, "the full trace, both nodes' hops")
            let (status, json) = try incidents()
            #expect(status == 1 && json["findings"]?.array?.first?["code"]?.string == code)
            let verdicts = try PrometheusText.parse(try metrics(on: "node1")).filter {
                $0.name == "netdoctor_verdicts_total" && $0.labels["code"] == code
            }
            #expect(verdicts.first.map { $0.value >= 1 } == true)
        }

        @Test("a Service without endpoints: the watcher's Service probe becomes SERVICE_NO_ENDPOINTS; incidents survive an agent restart")
        func service() throws {
            try Privilege.require()
            try up(["--proxy", "iptables"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "SERVICE_NO_ENDPOINTS"]).status == 0)
            let incident = try waitForIncident("SERVICE_NO_ENDPOINTS")
            #expect(
                incident?["kind"]?.string == "service" && incident?["target"]?.string == "default/web", "\(String(describing: incident))")
            // Kept in the agent's incidents file: what a restarted agent reads back.
            let kept = try String(contentsOfFile: "/var/lib/netdoctor-lab/incidents-node1.json", encoding: .utf8)
            #expect(kept.contains("SERVICE_NO_ENDPOINTS"))
        }

        @Test("dual-stack: pods probed in each family; an IPv6-only drop is an incident about the IPv6 address, IPv4 unharmed")
        func dualStack() throws {
            try Privilege.require()
            try up(["--family", "dual"])
            defer { _ = try? Binary.run(["lab", "down"]) }
            try #require(try Binary.run(["lab", "break", "FIREWALL_DROP", "--family", "6"]).status == 0)
            let incident = try waitForIncident("FIREWALL_DROP")
            #expect(incident?["target"]?.string == "fd00:10:244:2::2", "\(String(describing: incident))")
            let samples = try PrometheusText.parse(try metrics(on: "node1")).filter {
                $0.name == "netdoctor_probe_failures_total" && $0.labels["kind"] == "pod"
            }
            #expect(
                samples.contains { $0.labels["family"] == "6" && $0.value >= 1 }
                    && samples.contains { $0.labels["family"] == "4" && $0.value == 0 }, "\(samples)")
        }

        func metrics(on node: String) throws -> String {
            let token = try String(contentsOfFile: "/var/lib/netdoctor-lab/agent-token", encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines)
            let address = node == "node1" ? "192.168.77.1" : "192.168.77.2"
            let result = try Binary.run([
                "lab", "exec", node, "--", "curl", "-sf", "-H", "Authorization: Bearer \(token)", "http://\(address):9449/metrics",
            ])
            try #require(result.status == 0, "\(result.errorText)")
            return String(decoding: result.output, as: UTF8.self)
        }
    }
}

/// A strict reader of Prometheus' text exposition format 0.0.4: every line a comment (HELP or
/// TYPE of a metric declared once, before its samples) or a sample `name{label="value",…} value`
/// with a valid metric name, label names, escapes and a number; anything else throws.
enum PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible { var description: String }

    static func parse(_ text: String) throws -> [Sample] {
        var samples: [Sample] = []
        var typed: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if line.hasPrefix("#") {
                let words = line.split(separator: " ", maxSplits: 3).map(String.init)
                guard words.count >= 3, ["HELP", "TYPE"].contains(words[1]), isMetricName(words[2]) else {
                    throw ParseError(description: "line \(number + 1): \(line)")
                }
                if words[1] == "TYPE" {
                    guard words.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(words[3]),
                        typed[words[2]] == nil
                    else {
                        throw ParseError(description: "line \(number + 1): bad or repeated TYPE: \(line)")
                    }
                    typed[words[2]] = words[3]
                }
                continue
            }
            samples.append(try sample(String(line), line: number + 1))
        }
        for sample in samples {
            let base = ["_bucket", "_sum", "_count", "_total"].reduce(sample.name) { name, suffix in
                name.hasSuffix(suffix) && typed[String(name.dropLast(suffix.count))] != nil ? String(name.dropLast(suffix.count)) : name
            }
            guard typed[base] != nil || typed[sample.name] != nil else { throw ParseError(description: "\(sample.name) has no TYPE") }
            if sample.name.hasSuffix("_bucket") {
                guard sample.labels["le"] != nil else { throw ParseError(description: "\(sample.name) without le") }
            }
        }
        return samples
    }

    static func sample(_ line: String, line number: Int) throws -> Sample {
        let fail = { ParseError(description: "line \(number): \(line)") }
        var rest = Substring(line)
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        guard isMetricName(name) else { throw fail() }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                guard !label.isEmpty, !(label.first!.isNumber), labels[label] == nil else { throw fail() }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else { throw fail() }
                rest = rest.dropFirst(2)
                var value = ""
                while let c = rest.first, c != "\"" {
                    if c == "\\" {
                        rest = rest.dropFirst()
                        guard let escaped = rest.first, ["\\", "\"", "n"].contains(escaped) else { throw fail() }
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(c)
                    }
                    rest = rest.dropFirst()
                }
                guard rest.first == "\"" else { throw fail() }
                rest = rest.dropFirst()
                labels[label] = value
                if rest.first == "," { rest = rest.dropFirst() } else { guard rest.first == "}" else { throw fail() } }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw fail() }
        let parts = rest.dropFirst().split(separator: " ")
        guard (1...2).contains(parts.count), let value = parts[0] == "+Inf" ? Double.infinity : Double(parts[0]) else { throw fail() }
        return Sample(name: name, labels: labels, value: value)
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }
}

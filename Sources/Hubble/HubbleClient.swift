import Cilium
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import NetAddress
import NetSystem
import SwiftProtobuf

extension HubbleFlow {
    /// From Hubble's message; text fields bounded and made printable (they are the server's).
    public init(_ flow: Flow_Flow) {
        let verdicts: [Flow_Verdict: String] = [
            .forwarded: "FORWARDED", .dropped: "DROPPED", .error: "ERROR", .audit: "AUDIT", .redirected: "REDIRECTED",
            .traced: "TRACED",
        ]
        let policy = { (p: Flow_Policy) -> String in
            Self.printable((p.kind.isEmpty ? "" : p.kind + " ") + (p.namespace.isEmpty ? p.name : "\(p.namespace)/\(p.name)"))
        }
        self.init(
            verdict: verdicts[flow.verdict] ?? (flow.verdict.rawValue == 7 ? "TRANSLATED" : "verdict \(flow.verdict.rawValue)"),
            dropReason: flow.dropReasonDesc.rawValue != 0 ? flow.dropReasonDesc.rawValue : Int(flow.dropReason),
            source: Self.printable(flow.ip.source), destination: Self.printable(flow.ip.destination),
            direction: [1: "INGRESS", 2: "EGRESS"][flow.trafficDirection.rawValue] ?? "",
            deniedBy: (flow.ingressDeniedBy + flow.egressDeniedBy).prefix(16).map(policy),
            allowedBy: (flow.ingressAllowedBy + flow.egressAllowedBy).prefix(16).map(policy),
            node: Self.printable(flow.nodeName), summary: Self.printable(flow.summary))
    }

    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(200).map { $0.properties.generalCategory == .control ? "?" : $0 }))
    }
}

public struct HubbleError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Hubble's Observer over its node-local socket (gRPC, HTTP/2 over a Unix socket): the flows
/// between two addresses since a moment, bounded in number, bytes and time. A server that stalls
/// or answers garbage is an error, never a wait past the budget.
public enum HubbleClient {
    /// Where Cilium serves Hubble on the node (hubble-socket-path's default).
    public static let socketPath = "/var/run/cilium/hubble.sock"
    /// The largest message accepted: a flow is a few hundred bytes.
    static let maxResponseBytes = 1 << 20

    /// The flows between `a` and `b` (either way) from `since` (seconds since 1970) on, at most
    /// `limit` of the last ones the server keeps.
    public static func flows(
        socket: String, between a: IPAddress, and b: IPAddress, since: Double, limit: Int = 64, budget: Duration = .seconds(2)
    ) throws(HubbleError) -> [HubbleFlow] {
        var request = Observer_GetFlowsRequest()
        request.number = UInt64(max(1, min(limit, 1000)))
        request.since = Google_Protobuf_Timestamp(timeIntervalSince1970: since)
        request.whitelist = [(a, b), (b, a)].map { source, destination in
            var filter = Flow_FlowFilter()
            filter.sourceIp = [source.description]
            filter.destinationIp = [destination.description]
            return filter
        }
        let limit = Int(request.number)
        let transport: HTTP2ClientTransport.Posix
        do {
            transport = try .http2NIOPosix(
                target: .unixDomainSocket(path: socket), transportSecurity: .plaintext,
                config: .defaults { $0.http2.maxFrameSize = 1 << 14 })
        } catch {
            throw HubbleError("cannot use Hubble's socket \(socket): \(error)")
        }
        var options = CallOptions.defaults
        options.timeout = budget
        options.maxResponseMessageBytes = maxResponseBytes
        let outcome = Outcome<[HubbleFlow]>()
        // Its own thread: the call never waits for a free thread of the shared pool.
        let executor = ThreadExecutor()
        defer { executor.finish() }
        let task = Task(executorPreference: executor) {
            do {
                let flows = try await withGRPCClient(transport: transport) { client in
                    try await Observer_Observer.Client(wrapping: client).getFlows(request, options: options) { response in
                        var flows: [HubbleFlow] = []
                        for try await message in response.messages {
                            if case .flow(let flow) = message.responseTypes { flows.append(HubbleFlow(flow)) }
                            if flows.count >= limit { break }
                        }
                        return flows
                    }
                }
                outcome.finish(.success(flows))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        guard let result = outcome.wait(for: budget + .milliseconds(500)) else {
            task.cancel()
            throw HubbleError("Hubble at \(socket) did not answer within \(budget)")
        }
        switch result {
        case .success(let flows): return flows
        case .failure(let error as RPCError) where error.code == .deadlineExceeded:
            throw HubbleError("Hubble at \(socket) did not answer within \(budget)")
        case .failure(let error as RPCError):
            throw HubbleError("Hubble at \(socket) answered \(error.code): \(HubbleFlow.printable(error.message))")
        case .failure(let error):
            throw HubbleError("Hubble at \(socket) failed: \(HubbleFlow.printable(String(describing: error)))")
        }
    }
}

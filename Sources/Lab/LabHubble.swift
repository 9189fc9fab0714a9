import Dispatch
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Hubble
import NodeFiles
import SwiftProtobuf

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// A stand-in of Hubble's Observer (`lab serve --hubble SOCKET --hubble-flows FILE`): it serves,
/// over a Unix socket as Cilium serves Hubble, the flows of a file of `hubble observe -o jsonpb`
/// lines (one GetFlowsResponse each), the request's whitelist applied by source and destination
/// address as Hubble applies it, optionally late (`delay`). Tests and the lab's Hubble faults ask
/// it; Cilium's own Hubble is not here.
public enum LabHubble {
    public static func serve(socket: String, flowsFile: String, delayMilliseconds: Int) -> Never {
        let text = String(decoding: (try? NodeRoot("/").read(flowsFile, limit: 16 << 20)) ?? [], as: UTF8.self)
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        let responses = text.split(separator: "\n").compactMap { line in
            try? Observer_GetFlowsResponse(jsonString: String(line), options: options)
        }
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .unixDomainSocket(path: socket), transportSecurity: .plaintext),
            services: [Observer(responses: responses, delay: .milliseconds(delayMilliseconds))])
        let done = DispatchSemaphore(value: 0)
        Task {
            try? await server.serve()
            done.signal()
        }
        done.wait()
        exit(0)
    }

    struct Observer: Observer_Observer.SimpleServiceProtocol {
        var responses: [Observer_GetFlowsResponse]
        var delay: Duration

        func getFlows(
            request: Observer_GetFlowsRequest, response: RPCWriter<Observer_GetFlowsResponse>, context: ServerContext
        ) async throws {
            try await Task.sleep(for: delay)
            let wanted = responses.filter { answer in
                guard case .flow(let flow) = answer.responseTypes else { return false }
                return request.whitelist.isEmpty
                    || request.whitelist.contains { $0.sourceIp.contains(flow.ip.source) && $0.destinationIp.contains(flow.ip.destination) }
            }
            for answer in wanted.suffix(Int(max(1, min(request.number, 1000)))) { try await response.write(answer) }
        }

        func serverStatus(request: Observer_ServerStatusRequest, context: ServerContext) async throws -> Observer_ServerStatusResponse {
            var status = Observer_ServerStatusResponse()
            status.numFlows = UInt64(responses.count)
            status.version = "netdoctor lab stand-in"
            return status
        }
    }
}

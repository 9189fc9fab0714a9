import ConfigFormats
import NetAddress
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Trace

/// How this command reaches agents: the token it sends, and TLS when it has a CA to check them by.
public struct AgentClientSettings: Sendable {
    public var token: [UInt8]
    /// PEM CA bundle: with it, https with full verification; without it, plain http.
    public var caPath: String?
    /// The name the agents' certificate carries, when not the node's IP address.
    public var serverName: String?
    /// Each call's bound: connecting, sending, and the answer.
    public var timeoutMilliseconds: Int64

    public init(token: [UInt8], caPath: String?, serverName: String?, timeoutMilliseconds: Int64 = 5000) {
        self.token = token
        self.caPath = caPath
        self.serverName = serverName
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

public struct AgentCallError: Error, Sendable, CustomStringConvertible {
    public var status: Int?
    public var description: String
}

/// A node's agent over HTTP/JSON: one short connection per call, every call bounded in time.
/// Blocking: the trace calls it from its own (non-async) code.
public final class AgentClient: RemoteNodeAgent {
    public let endpoint: String
    let host: String
    let port: Int
    let settings: AgentClientSettings
    let tls: NIOSSLContext?

    public init(host: String, port: Int, settings: AgentClientSettings) throws {
        self.host = host
        self.port = port
        self.settings = settings
        endpoint = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        if let caPath = settings.caPath {
            do {
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.trustRoots = .file(caPath)
                configuration.minimumTLSVersion = .tlsv12
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw AgentCallError(status: nil, description: "cannot load the CA bundle \(caPath): \(error)")
            }
        } else {
            tls = nil
        }
    }

    /// The socket error under NIO's wrapping ("Connection refused (errno: 111)").
    static func reason(_ error: any Error) -> String {
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return reason(first.error)
        }
        if let io = error as? IOError, let cut = io.description.firstRange(of: "(error set): ") {
            return String(io.description[cut.upperBound...])
        }
        return "\(error)"
    }

    // MARK: RemoteNodeAgent

    public func health() throws {
        let (status, _) = try exchange(method: "GET", path: "/healthz", body: [])
        guard status == 200 else { throw RemoteHalfError("HTTP \(status)") }
    }

    public func prepare(_ request: RemoteTraceRequest) throws -> (session: String, view: RemoteHalfView) {
        let answer = try call("POST", "/v1/trace/sessions", body: request.json, expect: 201)
        guard let session = answer["session"]?.string, let view = answer["view"].flatMap(RemoteHalfView.init(json:)) else {
            throw AgentCallError(status: 201, description: "the agent's answer is not a trace session")
        }
        return (session, view)
    }

    public func finish(session: String, signature: ProbeSignature) throws -> RemoteHalfView {
        let answer = try call("POST", "/v1/trace/sessions/\(session)/finish", body: signature.json)
        guard let view = RemoteHalfView(json: answer) else {
            throw AgentCallError(status: 200, description: "the agent's answer is not a path view")
        }
        return view
    }

    public func abandon(session: String) throws {
        let (status, _) = try exchange(method: "DELETE", path: "/v1/trace/sessions/\(session)", body: [])
        guard status == 204 else { throw AgentCallError(status: status, description: "HTTP \(status)") }
    }

    public func path(_ request: RemoteTraceRequest) throws -> RemoteHalfView {
        let answer = try call("POST", "/v1/trace/path", body: request.json)
        guard let view = RemoteHalfView(json: answer) else {
            throw AgentCallError(status: 200, description: "the agent's answer is not a path view")
        }
        return view
    }

    // MARK: HTTP

    /// One request; the JSON answer, or an error naming the status and the agent's message.
    public func call(_ method: String, _ path: String, body: ConfigValue? = nil, expect: Int = 200) throws -> ConfigValue {
        let (status, bytes) = try exchange(method: method, path: path, body: body.map { JSONWriter.bytes($0, pretty: false) } ?? [])
        let text = String(decoding: bytes, as: UTF8.self)
        let json = try? JSONParser.parse(text)
        guard status == expect else {
            let message = json?["error"]?.string ?? String(text.prefix(200))
            throw AgentCallError(status: status, description: "HTTP \(status): \(message)")
        }
        guard let json else { throw AgentCallError(status: status, description: "the agent's answer is not JSON") }
        return json
    }

    /// The raw exchange: status and body bytes.
    public func exchange(method: String, path: String, body: [UInt8]) throws -> (Int, [UInt8]) {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let answer = loop.makePromise(of: (Int, [UInt8]).self)
        let tls = self.tls, serverName = settings.serverName
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(settings.timeoutMilliseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(ResponseCollector(answer: answer, limit: 32 << 20))
                }
            }
        let channel: Channel
        do {
            channel = try bootstrap.connect(host: host, port: port).wait()
        } catch {
            let failure = AgentCallError(status: nil, description: "cannot connect to the agent at \(endpoint): \(Self.reason(error))")
            answer.fail(failure)  // every promise is completed, whatever happens
            throw failure
        }
        defer { channel.close(promise: nil) }
        let timeout = settings.timeoutMilliseconds, endpoint = self.endpoint
        let timer = loop.scheduleTask(in: .milliseconds(timeout)) {
            answer.fail(AgentCallError(status: nil, description: "the agent at \(endpoint) did not answer within \(timeout) ms"))
        }
        var headers = HTTPHeaders([
            ("Host", endpoint), ("Authorization", "Bearer " + String(decoding: settings.token, as: UTF8.self)),
            ("Accept", "application/json"), ("Content-Length", String(body.count)), ("Connection", "close"),
        ])
        if !body.isEmpty { headers.add(name: "Content-Type", value: "application/json") }
        var buffer = channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        channel.write(
            HTTPClientRequestPart.head(
                HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: headers)),
            promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { timer.cancel() }
        do {
            return try answer.futureResult.wait()
        } catch let error as AgentCallError {
            throw error
        } catch {
            throw AgentCallError(status: nil, description: "the exchange with the agent at \(endpoint) failed: \(error)")
        }
    }
}

/// Collects one response; fails the answer if the connection ends first.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let answer: EventLoopPromise<(Int, [UInt8])>
    private let limit: Int
    private var status = 0
    private var body: [UInt8] = []

    init(answer: EventLoopPromise<(Int, [UInt8])>, limit: Int) {
        self.answer = answer
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(let chunk):
            if body.count + chunk.readableBytes > limit {
                answer.fail(AgentCallError(status: status, description: "the agent's answer is larger than \(limit) bytes"))
                context.close(promise: nil)
            } else {
                body += chunk.readableBytesView
            }
        case .end: answer.succeed((status, body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(AgentCallError(status: nil, description: "the agent closed the connection before answering"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(AgentCallError(status: nil, description: "\(error)"))
        context.close(promise: nil)
    }
}

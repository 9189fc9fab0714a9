import ConfigFormats
import Dispatch
import Netlink
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

public struct AgentStartError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// `netdoctor agent`: HTTP/1.1 (TLS when given a certificate) on one event loop, the work on a
/// small pool of worker threads. Runs until SIGTERM or SIGINT.
public final class AgentServer: Sendable {
    let api: AgentAPI
    let settings: AgentSettings

    public init(settings: AgentSettings) {
        self.settings = settings
        api = AgentAPI(settings: settings)
    }

    public func run() throws {
        let tls = try makeTLSContext()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: settings.limits.workerThreads)
        pool.start()
        defer {
            // A request stuck in the kernel (a namespace that hangs) must not hold up SIGTERM:
            // the pool is told to stop, not waited for; the process ends right after.
            pool.shutdownGracefully { _ in }
            try? group.syncShutdownGracefully()
        }
        let api = self.api
        let limits = settings.limits
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let open = api.connections.wrappingAdd(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in
                    api.connections.wrappingSubtract(1, ordering: .relaxed)
                    api.unauthenticated.remove(channel)
                }
                // Room is made by closing the oldest connection that has not authenticated, so a
                // flood of slow or idle ones cannot keep probes and callers out.
                if open > limits.maxConnections || api.unauthenticated.count >= limits.maxUnauthenticatedConnections {
                    if let oldest = api.unauthenticated.evictOldest() {
                        api.metrics.rejected("evicted_unauthenticated")
                        oldest.close(promise: nil)
                    } else if open > limits.maxConnections {
                        api.metrics.rejected("too_many_connections")
                        return channel.close()
                    }
                }
                api.unauthenticated.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLServerHandler(context: tls)) }
                    try pipeline.addHandler(IdleStateHandler(readTimeout: .seconds(limits.idleTimeoutSeconds)))
                    try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try pipeline.addHandler(AgentHTTPHandler(api: api, pool: pool))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
        let channel: Channel
        var more: [Channel] = []
        do {
            channel = try bootstrap.bind(host: settings.host, port: settings.port).wait()
        } catch {
            throw AgentStartError(description: "cannot listen on \(settings.host):\(settings.port): \(error)")
        }
        // A dual-stack node's other address: the same server, one more listening socket.
        for (host, port) in settings.moreListeners {
            // (bound one by one before anything runs concurrently; `others` below is the copy)
            do {
                more.append(try bootstrap.bind(host: host, port: port).wait())
            } catch {
                channel.close(promise: nil)
                for other in more { other.close(promise: nil) }
                throw AgentStartError(description: "cannot listen on \(host):\(port): \(error)")
            }
        }
        // Ready once the node's namespace answers netlink: what every endpoint needs.
        api.isReady.store((try? NetlinkSocket.open(in: nil)) != nil, ordering: .relaxed)
        // The port actually bound (the one asked for, or the kernel's pick for port 0).
        let port = channel.localAddress?.port ?? settings.port
        let addresses = ["\(settings.host):\(port)"] + more.map { "\($0.localAddress?.ipAddress ?? "?"):\($0.localAddress?.port ?? 0)" }
        api.log.info(
            "listening",
            [
                ("address", .string(addresses.joined(separator: ", "))), ("port", .int(port)), ("tls", .bool(tls != nil)),
                ("root", .string(settings.root.prefix.isEmpty ? "/" : settings.root.prefix)),
            ])
        for warning in settings.startupWarnings { api.log.warning(warning, []) }
        if let expired = Self.expiredCertificate(settings.tlsCertificatePath) { api.log.warning(expired, []) }
        // Sessions nobody finished are closed at their deadline.
        let sweeper = channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            pool.submit { _ in
                let expired = api.sessions.expire()
                if expired > 0 {
                    api.metrics.setSessions(api.sessions.count)
                    api.log.warning("trace sessions expired", [("count", .int(expired))])
                }
            }
        }
        let others = more
        let stop = Self.onTerminationSignals {
            api.log.info("stopping")
            channel.close(promise: nil)
            for other in others { other.close(promise: nil) }
        }
        try channel.closeFuture.wait()
        for other in others { try? other.closeFuture.wait() }
        sweeper.cancel()
        stop.forEach { $0.cancel() }
    }

    func makeTLSContext() throws -> NIOSSLContext? {
        switch (settings.tlsCertificatePath, settings.tlsKeyPath) {
        case (nil, nil): return nil
        case (let certificate?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
                var configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain,
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                configuration.minimumTLSVersion = .tlsv12
                return try NIOSSLContext(configuration: configuration)
            } catch {
                throw AgentStartError(description: "cannot load the TLS certificate or key (\(certificate), \(key)): \(error)")
            }
        default:
            throw AgentStartError(description: "--tls-cert and --tls-key go together")
        }
    }

    /// A served certificate past its notAfter: clients refuse it, so the log says why traces fail.
    static func expiredCertificate(_ path: String?) -> String? {
        guard let path, let leaf = try? NIOSSLCertificate.fromPEMFile(path).first, let notAfter = leaf.notValidAfter as time_t?,
            notAfter < time(nil)
        else { return nil }
        return "the TLS certificate \(path) expired (notAfter \(notAfter) s since 1970): callers refuse it"
    }

    /// SIGTERM (the kubelet stopping the pod) and SIGINT end the agent cleanly.
    static func onTerminationSignals(_ action: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }
}

/// One connection: collects each request (bounded), admits or refuses it, hands the work to a
/// worker thread and writes the answer, or 504 when the work overruns its time.
final class AgentHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: AgentAPI
    private let pool: NIOThreadPool
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// The current request was already answered (refused early): ignore the rest of it.
    private var answered = false
    /// A request is being worked on: silence from the client is expected (it waits).
    private var working = false
    /// Closes the connection when a request does not arrive whole in time (slowloris).
    private var readDeadline: Scheduled<Void>?

    init(api: AgentAPI, pool: NIOThreadPool) {
        self.api = api
        self.pool = pool
    }

    func handlerAdded(context: ChannelHandlerContext) { armReadDeadline(context: context) }

    func handlerRemoved(context: ChannelHandlerContext) { readDeadline?.cancel() }

    /// From the connection's start, or the previous answer, the next request must be read whole
    /// within the limit, however slowly its bytes trickle in.
    private func armReadDeadline(context: ChannelHandlerContext) {
        readDeadline?.cancel()
        let channel = context.channel
        let api = self.api
        readDeadline = context.eventLoop.scheduleTask(in: .seconds(api.settings.limits.requestReadTimeoutSeconds)) {
            api.metrics.rejected("read_timeout")
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            answered = false
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > api.settings.limits.maxBodyBytes {
                refuseTooLarge(context: context, head: head)
            }
        case .body(var chunk):
            guard !answered, let head else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > api.settings.limits.maxBodyBytes {
                refuseTooLarge(context: context, head: head)
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard !answered, let head else { return }
            readDeadline?.cancel()
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            self.head = nil
            body = nil
            dispatch(context: context, head: head, body: bytes)
        }
    }

    private func refuseTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead) {
        answered = true
        api.metrics.rejected("too_large")
        // The rest of the body is not read: the connection closes after the answer.
        respond(
            context: context, head: head, route: "-", started: .now(), keepAlive: false,
            .failure(AgentFailure(413, "the request body is larger than \(api.settings.limits.maxBodyBytes) bytes")))
    }

    private func dispatch(context: ChannelHandlerContext, head: HTTPRequestHead, body: [UInt8]) {
        let started = NIODeadline.now()
        let keepAlive = head.isKeepAlive
        let endpoint: AgentAPI.Endpoint
        switch api.admit(
            method: head.method.rawValue, path: String(head.uri.split(separator: "?").first ?? ""),
            authorization: head.headers.first(name: "authorization"))
        {
        case .failure(let failure):
            respond(context: context, head: head, route: "-", started: started, keepAlive: keepAlive, .failure(failure))
            return
        case .success(let found):
            endpoint = found
        }
        if endpoint.needsToken { api.unauthenticated.remove(context.channel) } else { api.unauthenticated.answered(context.channel) }
        // Liveness and readiness are answered here, at once: no worker, no in-flight limit, so a
        // burst of heavy work cannot make the kubelet restart a healthy agent.
        if endpoint == .health || endpoint == .ready {
            let request = AgentRequest(method: head.method.rawValue, uri: head.uri, body: body)
            respond(
                context: context, head: head, route: endpoint.rawValue, started: started, keepAlive: keepAlive,
                api.perform(endpoint, request))
            return
        }
        guard api.metrics.enter(limit: api.settings.limits.maxConcurrentRequests) else {
            api.metrics.rejected("overloaded")
            respond(
                context: context, head: head, route: endpoint.rawValue, started: started, keepAlive: keepAlive,
                .failure(AgentFailure(503, "too many requests in progress", headers: [("Retry-After", "1")])))
            return
        }
        let request = AgentRequest(method: head.method.rawValue, uri: head.uri, body: body)
        let api = self.api
        working = true
        let work = pool.runIfActive(eventLoop: context.eventLoop) { api.perform(endpoint, request) }
        work.whenComplete { _ in api.metrics.leave() }
        // The answer, or 504 if the work overruns: whichever comes first is written.
        let timeout = context.eventLoop.makePromise(of: AgentResponse.self)
        let timer = context.eventLoop.scheduleTask(in: .seconds(api.settings.limits.requestTimeoutSeconds)) {
            timeout.succeed(.failure(AgentFailure(504, "the request took longer than \(api.settings.limits.requestTimeoutSeconds) s")))
        }
        work.whenComplete { result in
            timer.cancel()
            switch result {
            case .success(let response): timeout.succeed(response)
            case .failure(let error): timeout.succeed(.failure(AgentFailure(500, "\(error)")))
            }
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timeout.futureResult.whenSuccess { response in
            let (handler, context) = bound.value
            handler.respond(context: context, head: head, route: endpoint.rawValue, started: started, keepAlive: keepAlive, response)
        }
    }

    private func respond(
        context: ChannelHandlerContext, head: HTTPRequestHead, route: String, started: NIODeadline, keepAlive: Bool,
        _ response: AgentResponse
    ) {
        // 204 carries no body, and so no Content-Length either (RFC 9110).
        var headers = HTTPHeaders(
            response.status == 204 ? [] : [("Content-Type", response.contentType), ("Content-Length", String(response.body.count))])
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: response.status), headers: headers))),
            promise: nil)
        if head.method != .HEAD && response.status != 204 {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let channel = context.channel
        // Whether the answer reached a client that still listens: logged as it was.
        let delivered = channel.isActive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
        working = false
        if keepAlive && delivered { armReadDeadline(context: context) }
        let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        api.metrics.record(route: route, method: head.method.rawValue, status: delivered ? response.status : 499, seconds: seconds)
        var fields: [(String, ConfigValue)] = [
            ("method", .string(head.method.rawValue)), ("path", .string(String(head.uri.prefix(200)))),
            ("status", .int(response.status)), ("durationMs", .number(seconds * 1000, text: String(Int(seconds * 1000)))),
            ("peer", .text(channel.remoteAddress?.description)),
        ]
        guard delivered else {
            fields.append(("delivered", .bool(false)))
            api.log.warning("the client left before its answer", fields)
            return
        }
        // Refusals of requests without a token come in floods: every one is counted in the
        // metrics, at most one a second is logged (with how many were not).
        if response.status == 401 {
            guard let suppressed = api.unauthorizedLogGate.pass() else { return }
            fields.append(("suppressed", .int(suppressed)))
        }
        if response.status >= 500 {
            api.log.error("request", fields)
        } else if response.status >= 400 {
            api.log.warning("request", fields)
        } else {
            api.log.info("request", fields)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            // A client waiting for its answer is silent by design: the work has its own deadline (504).
            if !working { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS handshakes that fail, resets: the connection ends; the agent goes on.
        api.log.warning("connection error", [("error", .string("\(error)")), ("peer", .text(context.channel.remoteAddress?.description))])
        context.close(promise: nil)
    }
}

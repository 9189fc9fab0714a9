import Capture
import KernelState
import NetAddress
import NetSystem
import PathFacts
import PathMTU

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// Sends one probe from the source namespace while capturing at every hop.
enum ActiveProbe {
    /// `beforeProbe` runs once the captures are open and just before the probe leaves;
    /// `afterProbe` as soon as its fate is known, before the captures are read. Returns the
    /// outcome and what was seen at each of `hops`, in their order.
    static func run(
        from source: NamespaceHandle, ends: TraceEnds, hops: [TraceHop], proto: TraceProtocol, port: UInt16?,
        timeoutMilliseconds: Int32, namespaces: (KnownNamespace) throws -> NetNamespace, beforeProbe: () -> Void = {},
        afterProbe: (ProbeSignature) -> Void = { _ in }
    ) throws -> (outcome: ProbeResult, seen: [HopSeen]) {
        var signature = ProbeSignature(
            proto: proto, source: ends.sourceAddress, destination: ends.destinationAddress,
            port: ProbeSignature.port(for: proto, given: port), echoSequence: nil)
        // Without captures the probe still answers reachable or not; the hops just stay unknown.
        var capture = HopCapture(hops: hops, filter: signature.captureFilter, namespaces: namespaces)

        var result: ProbeResult
        let destination = ends.destinationAddress
        beforeProbe()
        switch proto {
        case .icmp:
            let socket = try source.run { try ProbeSocket(destination: destination, port: 33434, method: .icmp) }
            let outcome = socket.probe(size: 84, timeoutMilliseconds: timeoutMilliseconds)
            signature.echoSequence = socket.sequence
            result = describe(outcome, proto: destination.isIPv4 ? "ICMP echo" : "ICMPv6 echo", ipv4: destination.isIPv4)
        case .udp:
            result = try UDPProbe.send(
                from: source.opened, to: destination, port: signature.port!, timeoutMilliseconds: timeoutMilliseconds)
        case .tcp:
            result = try TCPProbe.connect(
                from: source.opened, to: destination, port: signature.port!, timeoutMilliseconds: timeoutMilliseconds)
        }
        afterProbe(signature)

        // A packet is in every ring it passed before the probe socket sees the answer; a short
        // grace covers copies still on another CPU's backlog.
        usleep(10_000)
        let (seen, _) = capture.finish(hops, signature: signature)
        result.captureProblems = capture.problems
        return (result, seen)
    }

    static func describe(_ outcome: ProbeOutcome, proto: String, ipv4: Bool = true) -> ProbeResult {
        switch outcome {
        case .passed: return ProbeResult(kind: .answered, description: "\(proto): answered")
        case .silent: return ProbeResult(kind: .silent, description: "\(proto): no answer")
        case .fragmentationNeeded(let from, let mtu):
            let tooBig = ipv4 ? "fragmentation needed" : "packet too big"
            return ProbeResult(
                kind: .unreachable("\(tooBig) from \(from.map(\.description) ?? "?"), mtu \(mtu)"),
                description: "\(proto): \(tooBig), mtu \(mtu)")
        case .localLimit(let mtu):
            return ProbeResult(kind: .unreachable("local MTU \(mtu)"), description: "\(proto): refused locally, mtu \(mtu)")
        case .unreachable(let from, let type, let code, _):
            return ProbeResult(
                kind: .unreachable("ICMP type \(type) code \(code) from \(from.map(\.description) ?? "?")"),
                description: "\(proto): ICMP type \(type) code \(code) from \(from.map(\.description) ?? "?")")
        }
    }
}

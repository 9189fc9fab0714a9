import CNetShims
import NetlinkCodec
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#endif

/// A netlink socket bound to the namespace it was opened in: rtnetlink by default, nfnetlink
/// with `protocol: NETLINK_NETFILTER` (nf_tables, conntrack, queues), one dump loop for both.
/// Open it with `NetlinkSocket.open(in:)` to talk to another namespace; use it from any thread
/// afterwards.
public final class NetlinkSocket: @unchecked Sendable {
    public private(set) var portID: UInt32 = 0
    private var sequence: UInt32 = 0
    /// How long a reply may take before netdoctor gives up (ms).
    public var timeoutMilliseconds: Int32 = 5000

    /// Opens a socket in the calling thread's namespace.
    public init(protocol family: Int32 = NETLINK_ROUTE) throws(NetlinkError) {
        do {
            socket = try Socket(domain: AF_NETLINK, type: Int32(SOCK_RAW.rawValue), protocol: family, what: "AF_NETLINK")
            // Large dumps (thousands of routes) arrive in bursts; a big buffer avoids ENOBUFS.
            try socket.set(SOL_SOCKET, SO_RCVBUF, to: 4 << 20, what: "SO_RCVBUF")
            // Extended acks say why a request was refused; strict checking makes the kernel refuse
            // a request it would otherwise half-ignore. Kernels before 4.20 have neither: the
            // replies are the same, only less explained.
            try? socket.set(SOL_NETLINK, NETLINK_EXT_ACK, to: 1, what: "NETLINK_EXT_ACK")
            try? socket.set(SOL_NETLINK, NETLINK_GET_STRICT_CHK, to: 1, what: "NETLINK_GET_STRICT_CHK")
            var address = sockaddr_nl()
            address.nl_family = sa_family_t(AF_NETLINK)
            let fd = socket.fd
            _ = try systemCall("bind(AF_NETLINK)") {
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
                }
            }
            var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            portID = address.nl_pid
        } catch {
            throw .system(error)
        }
    }

    private let socket: Socket
    public var fd: Int32 { socket.fd }

    /// Where datagrams are received, kept for the socket's life: a dump chain by chain makes
    /// tens of thousands of exchanges. A netlink datagram is one skb, at most 32 KiB for a dump's
    /// part (or one message that needs more); 1 MiB is never short, and pages never written
    /// cost nothing.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 8)

    deinit { buffer.deallocate() }

    /// One datagram into `buffer`, its length. Taken at once when it is there already (a dump's
    /// next part usually is: the kernel fills it while the last one is read), else after a wait.
    private func receive() throws(NetlinkError) -> Int {
        while true {
            let n = retryingOnInterrupt { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC | MSG_DONTWAIT)) }
            if n > buffer.count { throw .protocolViolation("a netlink datagram of \(n) bytes, more than the \(buffer.count) read") }
            if n >= 0 { return n }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw .system(.last("recv(netlink)")) }
            guard socket.wait(for: Int32(POLLIN), milliseconds: timeoutMilliseconds) else {
                throw .timedOut(milliseconds: timeoutMilliseconds)
            }
        }
    }

    /// Sends a command the kernel only acknowledges (NLM_F_ACK): returns once it did, throws
    /// what it refused.
    public func command(_ message: NetlinkMessage) throws(NetlinkError) {
        _ = try exchange(message, expectMultipart: true) { _ in }
    }

    /// Sends a message no answer follows (an nfqueue verdict).
    public func post(_ message: NetlinkMessage) throws(NetlinkError) {
        try send(message.encoded)
    }

    /// One datagram to the kernel.
    private func send(_ bytes: [UInt8]) throws(NetlinkError) {
        var kernel = sockaddr_nl()
        kernel.nl_family = sa_family_t(AF_NETLINK)
        let sent = withUnsafePointer(to: &kernel) { address in
            address.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddress in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sockaddress, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
            }
        }
        if sent < 0 { throw .system(.last("send(netlink)")) }
    }

    /// Joins a multicast group (NETLINK_ADD_MEMBERSHIP): the kernel then sends its events there
    /// too (nf_tables' traces: NFNLGRP_NFTRACE; it builds them only while someone listens).
    public func subscribe(group: Int32) throws(NetlinkError) {
        do { try socket.set(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, to: group, what: "NETLINK_ADD_MEMBERSHIP") } catch { throw .system(error) }
    }

    /// The events queued for this socket, waiting at most `milliseconds` for the first and
    /// taking what else is there at once; [] when none came.
    public func events(waitingMilliseconds milliseconds: Int32) throws(NetlinkError) -> [NetlinkMessage] {
        var out: [NetlinkMessage] = []
        var wait = milliseconds
        while true {
            let n = retryingOnInterrupt { recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC | MSG_DONTWAIT)) }
            if n > buffer.count { throw .protocolViolation("a netlink datagram of \(n) bytes, more than the \(buffer.count) read") }
            if n > 0 {
                do { out += try NetlinkMessage.parseAll(Array(UnsafeRawBufferPointer(rebasing: buffer[..<n]))) } catch {
                    throw .malformed(error)
                }
                wait = 0
                continue
            }
            // ENOBUFS: events were lost (the socket's buffer overflowed); what came is kept.
            if n < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != ENOBUFS { throw .system(.last("recv(netlink)")) }
            if n < 0, errno == ENOBUFS { continue }
            guard wait > 0, socket.wait(for: Int32(POLLIN), milliseconds: wait) else { return out }
            wait = 0
        }
    }

    /// Opens a socket inside `namespace` (on the namespace thread); it stays bound there.
    public static func open(
        in namespace: NetNamespace?, thread: NamespaceThread = .shared, protocol family: Int32 = NETLINK_ROUTE
    ) throws -> NetlinkSocket {
        guard let namespace else { return try NetlinkSocket(protocol: family) }
        return try thread.run(in: namespace) { try NetlinkSocket(protocol: family) }
    }

    /// Sends a dump request and collects every reply until NLMSG_DONE, retrying when the kernel
    /// says the dump was interrupted by a change.
    public func dump(_ request: NetlinkMessage, attempts: Int = 5) throws(NetlinkError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        try dump(request, attempts: attempts, restart: { messages.removeAll() }, each: { messages.append($0) })
        return messages
    }

    /// The same dump handed over message by message as the datagrams arrive, so that a caller
    /// keeping a few of millions (conntrack entries towards some addresses) never holds them all.
    /// `restart`: the kernel said the dump was interrupted by a change and it begins again: forget
    /// what `each` was given. A throw from `each` ends the dump at once (what the kernel still sends
    /// for it is skipped by the next exchange on this socket: its sequence number differs).
    public func dump(
        _ request: NetlinkMessage, attempts: Int = 5, restart: () -> Void,
        each: (NetlinkMessage) throws(NetlinkError) -> Void
    ) throws(NetlinkError) {
        var lastInterrupted = false
        for attempt in 0..<attempts {
            if attempt > 0 { restart() }
            if !(try exchange(request, expectMultipart: true, onReply: each)) { return }
            lastInterrupted = true
        }
        throw lastInterrupted ? .dumpInterrupted : .system(SystemError("netlink dump", errno: EAGAIN))
    }

    /// Sends a request that has one answer (a route lookup, RTM_GETNSID).
    public func request(_ message: NetlinkMessage) throws(NetlinkError) -> NetlinkMessage {
        var first: NetlinkMessage?
        _ = try exchange(message, expectMultipart: false) { first = first ?? $0 }
        guard let first else { throw .protocolViolation("no reply") }
        return first
    }

    /// Sends `message` and hands each reply to `onReply` until the exchange ends; whether the
    /// kernel flagged the dump as interrupted.
    private func exchange(
        _ message: NetlinkMessage, expectMultipart: Bool,
        onReply: (NetlinkMessage) throws(NetlinkError) -> Void
    ) throws(NetlinkError) -> Bool {
        sequence &+= 1
        var outgoing = message
        outgoing.sequence = sequence
        try send(outgoing.encoded)

        var interrupted = false
        while true {
            let n = try receive()
            let messages: [NetlinkMessage]
            do { messages = try NetlinkMessage.parseAll(Array(UnsafeRawBufferPointer(rebasing: buffer[..<n]))) } catch {
                throw .malformed(error)
            }
            for reply in messages {
                // Messages for other requests (or from other senders) are not ours.
                guard reply.sequence == sequence, reply.portID == portID || reply.portID == 0 else { continue }
                if reply.flags.contains(.dumpInterrupted) { interrupted = true }
                switch reply.type {
                case .done:
                    return interrupted
                case .error:
                    let error: NetlinkErrorMessage
                    do { error = try NetlinkErrorMessage(reply) } catch { throw .malformed(error) }
                    if error.errno == 0 { return interrupted }
                    throw .kernel(errno: error.errno, message: error.extAckMessage)
                case .overrun:
                    throw .system(SystemError("netlink dump", errno: ENOBUFS))
                default:
                    try onReply(reply)
                    // A request with one answer ends at it, flagged multipart or not: ctnetlink
                    // answers a single lookup with NLM_F_MULTI and no NLMSG_DONE after it.
                    if !expectMultipart { return interrupted }
                }
            }
        }
    }
}

/// What can go wrong talking to the kernel over netlink, readable for a person.
public enum NetlinkError: Error, Sendable, CustomStringConvertible {
    case system(SystemError)
    /// The kernel refused the request: errno and its extended-ack text.
    case kernel(errno: Int32, message: String?)
    case malformed(NetlinkDecodeError)
    case dumpInterrupted
    case timedOut(milliseconds: Int32)
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .system(let error): error.description
        case .kernel(let code, let message):
            "the kernel refused the request: \(String(cString: strerror(code)))" + (message.map { " (\($0))" } ?? "")
        case .malformed(let error): error.description
        case .dumpInterrupted: "the kernel kept interrupting the dump (state changing too fast)"
        case .timedOut(let ms): "no answer from the kernel within \(ms) ms"
        case .protocolViolation(let what): "unexpected netlink reply: \(what)"
        }
    }

    public var isPermission: Bool {
        switch self {
        case .system(let e): e.isPermission
        case .kernel(let code, _): code == EPERM || code == EACCES
        default: false
        }
    }
}

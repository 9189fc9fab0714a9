import CNetShims
import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// What became of one don't-fragment probe.
public enum ProbeOutcome: Sendable, Equatable {
    /// The destination answered (ICMP port unreachable for the UDP probe): the size crossed.
    case passed(from: IPAddress?)
    /// A hop refused it with ICMP "fragmentation needed" (IPv6 "packet too big"), saying its MTU.
    case fragmentationNeeded(from: IPAddress?, mtu: Int)
    /// This host refused to send it: larger than the outgoing interface or route MTU.
    case localLimit(mtu: Int)
    /// No answer within the timeout.
    case silent
    /// An ICMP error other than the above (host or network unreachable, administratively prohibited).
    case unreachable(from: IPAddress?, type: UInt8, code: UInt8, errno: Int32)

    public var label: String {
        switch self {
        case .passed: "passed"
        case .fragmentationNeeded: "fragmentation needed"
        case .localLimit: "refused locally"
        case .silent: "silently dropped"
        case .unreachable: "unreachable"
        }
    }
}

/// How probes travel.
public enum ProbeMethod: String, Sendable, CaseIterable {
    /// ICMP echo requests (a raw socket, as ping does). Echo replies are not rate-limited by the
    /// kernel, so repeated runs measure the same.
    case icmp
    /// UDP to a closed port, answered with ICMP port unreachable (as tracepath does). The kernel
    /// rate-limits those answers (net.ipv4.icmp_ratelimit), so bursts of probes can go unanswered.
    case udp
}

/// A connected socket with don't-fragment probing (IP_PMTUDISC_PROBE: DF set, the kernel's cached
/// path MTU ignored, so an earlier run cannot fool a later one) and errors read from the socket's
/// error queue (IP_RECVERR), as tracepath and ping do. Open it inside the source namespace.
public final class ProbeSocket: ProbeTransport, @unchecked Sendable {
    public let destination: IPAddress
    public let port: UInt16
    public let method: ProbeMethod
    let socket: Socket
    /// Echo identifier and sequence, to tell our replies from other ICMP on a raw socket.
    public let identifier = UInt16.random(in: 1...UInt16.max)
    public private(set) var sequence: UInt16 = 0
    var isIPv4: Bool { destination.isIPv4 }
    /// IP header plus UDP or ICMP header, subtracted from a probe's size to get its payload.
    var headerBytes: Int { (isIPv4 ? 20 : 40) + 8 }

    public init(destination: IPAddress, port: UInt16, method: ProbeMethod = .icmp) throws(SystemError) {
        self.destination = destination
        self.port = port
        self.method = method
        let family = destination.isIPv4 ? AF_INET : AF_INET6
        switch method {
        case .udp: socket = try Socket(domain: family, type: Int32(SOCK_DGRAM.rawValue), what: "UDP")
        case .icmp:
            socket = try Socket(
                domain: family, type: Int32(SOCK_RAW.rawValue),
                protocol: destination.isIPv4 ? Int32(IPPROTO_ICMP) : Int32(IPPROTO_ICMPV6), what: "raw ICMP")
        }
        let fd = socket.fd
        // PROBE mode: DF set, and the cached path MTU ignored, so every probe measures afresh.
        let probe = destination.isIPv4 ? Int32(IP_PMTUDISC_PROBE) : Int32(IPV6_PMTUDISC_PROBE)
        let (level, discover, recvErr) =
            destination.isIPv4
            ? (Int32(IPPROTO_IP), Int32(IP_MTU_DISCOVER), Int32(IP_RECVERR))
            : (Int32(IPPROTO_IPV6), Int32(IPV6_MTU_DISCOVER), Int32(IPV6_RECVERR))
        try socket.set(level, discover, to: probe, what: "MTU discovery")
        try socket.set(level, recvErr, to: 1, what: "RECVERR")
        _ = try systemCall("connect", context: "\(destination)") {
            SocketAddress.withIP(destination.bytes, port: method == .udp ? port : 0) { connect(fd, $0, $1) }
        }
    }

    var fd: Int32 { socket.fd }

    /// The MTU this host would use towards the destination (IP_MTU: the route's or device's).
    public var localMTU: Int? {
        socket.get(isIPv4 ? Int32(IPPROTO_IP) : Int32(IPPROTO_IPV6), isIPv4 ? Int32(IP_MTU) : Int32(IPV6_MTU)).map(Int.init)
    }

    /// Sends one probe of `size` bytes (whole IP packet) and waits up to `timeout` ms for its fate.
    public func probe(size: Int, timeoutMilliseconds: Int32) -> ProbeOutcome {
        drainErrors()
        sequence &+= 1
        var packet = [UInt8](repeating: 0x6e, count: max(method == .icmp ? 8 : 0, size - headerBytes + (method == .icmp ? 8 : 0)))
        if method == .icmp { Self.writeEcho(into: &packet, ipv4: isIPv4, identifier: identifier, sequence: sequence) }
        let sent = packet.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        if sent < 0 {
            if errno == EMSGSIZE { return .localLimit(mtu: localMTU ?? size - 1) }
            if let error = readError() { return error }
            return .unreachable(from: nil, type: 0, code: 0, errno: errno)
        }
        let deadline = monotonicMilliseconds() + Int64(timeoutMilliseconds)
        while true {
            let remaining = deadline - monotonicMilliseconds()
            if remaining <= 0 { return .silent }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard retryingOnInterrupt({ poll(&poller, 1, Int32(remaining)) }) > 0 else { return .silent }
            if poller.revents & Int16(POLLERR) != 0, let error = readError() { return error }
            if poller.revents & Int16(POLLIN) != 0 {
                var reply = [UInt8](repeating: 0, count: 65536)
                let n = reply.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                // UDP: something answered the probe, so it crossed. ICMP: only our echo reply counts
                // (a raw socket sees every ICMP packet of the namespace).
                if method == .udp || (n > 0 && isOurEchoReply(reply[..<n])) { return .passed(from: destination) }
            }
        }
    }

    /// An ICMP echo request: type, code, checksum, identifier, sequence. The kernel computes
    /// ICMPv6 checksums itself; ICMP's is ours.
    static func writeEcho(into packet: inout [UInt8], ipv4: Bool, identifier: UInt16, sequence: UInt16) {
        packet[0] = ipv4 ? 8 : 128
        packet[1] = 0
        packet[2] = 0; packet[3] = 0
        packet[4] = UInt8(identifier >> 8); packet[5] = UInt8(identifier & 0xFF)
        packet[6] = UInt8(sequence >> 8); packet[7] = UInt8(sequence & 0xFF)
        guard ipv4 else { return }
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < packet.count { sum += UInt32(packet[i]) << 8 | UInt32(packet[i + 1]); i += 2 }
        if i < packet.count { sum += UInt32(packet[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        packet[2] = UInt8(checksum >> 8); packet[3] = UInt8(checksum & 0xFF)
    }

    /// An echo reply from the destination with our identifier and sequence. IPv4 raw sockets
    /// deliver the IP header too; IPv6 ones do not.
    func isOurEchoReply(_ bytes: ArraySlice<UInt8>) -> Bool {
        var icmp = bytes
        if isIPv4 {
            guard let first = bytes.first else { return false }
            icmp = bytes.dropFirst(Int(first & 0x0F) * 4)
        }
        guard icmp.count >= 8 else { return false }
        let b = Array(icmp.prefix(8))
        return b[0] == (isIPv4 ? 0 : 129) && UInt16(b[4]) << 8 | UInt16(b[5]) == identifier && UInt16(b[6]) << 8 | UInt16(b[7]) == sequence
    }

    /// One error from the error queue, classified.
    func readError() -> ProbeOutcome? {
        var control = [UInt8](repeating: 0, count: 512)
        var name = sockaddr_storage()
        var data = [UInt8](repeating: 0, count: 64)
        return data.withUnsafeMutableBytes { dataBuffer in
            control.withUnsafeMutableBytes { controlBuffer in
                withUnsafeMutablePointer(to: &name) { namePointer -> ProbeOutcome? in
                    var vector = iovec(iov_base: dataBuffer.baseAddress, iov_len: dataBuffer.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer -> ProbeOutcome? in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(namePointer)
                        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBuffer.baseAddress
                        message.msg_controllen = controlBuffer.count
                        guard recvmsg(fd, &message, Int32(MSG_ERRQUEUE | MSG_DONTWAIT)) >= 0 else { return nil }
                        var header = cns_cmsg_firsthdr(&message)
                        while let cmsg = header {
                            let isIPv4Error = cmsg.pointee.cmsg_level == IPPROTO_IP && cmsg.pointee.cmsg_type == IP_RECVERR
                            let isIPv6Error = cmsg.pointee.cmsg_level == IPPROTO_IPV6 && cmsg.pointee.cmsg_type == IPV6_RECVERR
                            if isIPv4Error || isIPv6Error, let data = cns_cmsg_data(cmsg) {
                                return Self.classify(UnsafeRawPointer(data))
                            }
                            header = cns_cmsg_nxthdr(&message, cmsg)
                        }
                        return nil
                    }
                }
            }
        }
    }

    /// struct sock_extended_err, then the offender's address (SO_EE_OFFENDER).
    static func classify(_ pointer: UnsafeRawPointer) -> ProbeOutcome {
        let error = pointer.loadUnaligned(as: sock_extended_err.self)
        let offenderPointer = pointer + MemoryLayout<sock_extended_err>.size
        let family = offenderPointer.loadUnaligned(as: sa_family_t.self)
        var offender: IPAddress? = nil
        if family == AF_INET {
            let address = offenderPointer.loadUnaligned(as: sockaddr_in.self)
            offender = withUnsafeBytes(of: address.sin_addr) { IPAddress(wire: Array($0)[...]) }
        } else if family == AF_INET6 {
            let address = offenderPointer.loadUnaligned(as: sockaddr_in6.self)
            offender = withUnsafeBytes(of: address.sin6_addr) { IPAddress(wire: Array($0)[...]) }
        }
        let origin = error.ee_origin  // 1 local, 2 ICMP, 3 ICMPv6
        let code = Int32(error.ee_errno)
        if code == EMSGSIZE {
            return origin == 1 ? .localLimit(mtu: Int(error.ee_info)) : .fragmentationNeeded(from: offender, mtu: Int(error.ee_info))
        }
        if code == ECONNREFUSED { return .passed(from: offender) }
        return .unreachable(from: offender, type: error.ee_type, code: error.ee_code, errno: code)
    }

    /// Errors left from earlier probes must not be taken for this one's.
    func drainErrors() {
        for _ in 0..<64 { if readError() == nil { return } }
    }
}

func monotonicMilliseconds() -> Int64 { MonotonicClock.milliseconds }

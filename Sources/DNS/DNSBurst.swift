import NetlinkCodec
import NetAddress
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The conntrack insert race as glibc provokes it: A and AAAA sent back to back from one UDP
/// socket (one 5-tuple), both DNATed to the DNS Service's endpoints at once; when the two
/// conntrack entries clash, one query is dropped and the lookup waits 5 s (K8S#56903). netdoctor
/// sends rounds of such pairs and counts the answers that never came; the node's per-CPU
/// `insert_failed` (and `clash_resolve`, the kernel resolving it) read before and after say
/// whether conntrack lost them.
public struct DNSBurst: Sendable {
    public var server: IPAddress
    public var rounds: Int
    /// Queries of the burst that got no answer.
    public var lost: Int
    /// How much the node's counters rose during the burst (nil: not readable).
    public var insertFailed: Int?
    public var clashResolved: Int?
    public var drop: Int?

    /// The burst's counters from the node's per-CPU conntrack statistics read before and after
    /// it (nil: not readable): how much each rose, summed over CPUs.
    public init(server: IPAddress, rounds: Int, lost: Int, before: [Conntrack.CPUStatistics]?, after: [Conntrack.CPUStatistics]?) {
        let rise = { (counter: String) -> Int? in
            guard let before, let after else { return nil }
            return after.reduce(0) { $0 + Int($1[counter]) } - before.reduce(0) { $0 + Int($1[counter]) }
        }
        self.init(
            server: server, rounds: rounds, lost: lost, insertFailed: rise("insert_failed"), clashResolved: rise("clash_resolve"),
            drop: rise("drop"))
    }

    public init(server: IPAddress, rounds: Int, lost: Int, insertFailed: Int?, clashResolved: Int?, drop: Int?) {
        self.server = server
        self.rounds = rounds
        self.lost = lost
        self.insertFailed = insertFailed
        self.clashResolved = clashResolved
        self.drop = drop
    }

    /// Sends `rounds` pairs (A, AAAA of `name`) from one socket in `namespace`, each pair at
    /// once, and waits up to `timeoutMilliseconds` for both answers of a pair. Returns how many
    /// of the 2 × rounds queries went unanswered, or nil when the socket could not be made.
    public static func send(name: DNSName, server: IPAddress, rounds: Int, in namespace: NetNamespace, timeoutMilliseconds: Int32) -> Int? {
        guard let socket = try? ConnectedSocket(Int32(SOCK_DGRAM.rawValue), in: namespace, to: server.bytes, port: 53),
            socket.connectError == 0
        else {
            return nil
        }
        var lost = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        // Two seconds at most, whatever the rounds: a lost pair waits its timeout.
        let end = MonotonicClock.fractionalMilliseconds + 2000
        for round in 0..<rounds {
            guard MonotonicClock.fractionalMilliseconds < end else { lost += 2 * (rounds - round); break }
            var waiting: Set<UInt16> = []
            for (offset, type) in [DNSRecordType.a, .aaaa].enumerated() {
                let id = UInt16(truncatingIfNeeded: 0x4000 + round * 2 + offset)
                let message = DNSQuery(id: id, name: name, type: type).encoded()
                if Glibc.send(socket.fd, message, message.count, 0) == message.count { waiting.insert(id) }
            }
            lost += 2 - waiting.count
            let deadline = MonotonicClock.fractionalMilliseconds + Double(timeoutMilliseconds)
            while !waiting.isEmpty {
                let left = Int32(max(0, deadline - MonotonicClock.fractionalMilliseconds))
                guard left > 0, socket.wait(for: Int32(POLLIN), milliseconds: left) else { break }
                let count = retryingOnInterrupt { recv(socket.fd, &buffer, buffer.count, Int32(MSG_DONTWAIT)) }
                guard count >= 2 else { if count < 0, errno != EAGAIN { break } else { continue } }
                waiting.remove(UInt16(buffer[0]) << 8 | UInt16(buffer[1]))
            }
            lost += waiting.count
        }
        return lost
    }
}

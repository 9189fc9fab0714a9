import CNetShims
import NetAddress
import Netlink
import NetlinkCodec
import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// This node's conntrack table over ctnetlink, read-only: one entry by its original direction
/// (which endpoint a connection to a Service was given, whether it was masqueraded), the entries
/// towards an address (a Service's), and the per-CPU counters (insert_failed, drop).
public enum ConntrackReader {
    /// The entry a connection made; nil when there is none (or it could not be asked: `problem`).
    public static func entry(_ original: Conntrack.Tuple, on sockets: NetlinkSockets) -> (entry: Conntrack.Entry?, problem: String?) {
        do {
            let reply = try sockets.netfilter { try $0.request(Conntrack.lookup(original)) }
            return (try Conntrack.entry(reply), nil)
        } catch NetlinkError.kernel(let code, _) where code == ENOENT {
            return (nil, nil)
        } catch {
            return (nil, "conntrack lookup of \(original): \(error)")
        }
    }

    /// Every entry whose original destination is one of `destinations` (both families dumped as needed).
    public static func entries(
        to destinations: Set<IPAddress>, on sockets: NetlinkSockets
    ) -> (entries: [Conntrack.Entry], problem: String?) {
        do {
            var found: [Conntrack.Entry] = []
            // Filtered as the datagrams arrive: a node's table may hold millions of entries, and
            // only those towards `destinations` are kept.
            for ipv6 in [false, true] where destinations.contains(where: { $0.isIPv4 != ipv6 }) {
                let kept = found.count
                try sockets.netfilter { socket in
                    try socket.dump(Conntrack.dump(ipv6: ipv6), restart: { found.removeSubrange(kept...) }) {
                        message throws(NetlinkError) in
                        let entry: Conntrack.Entry?
                        do throws(NetlinkDecodeError) { entry = try Conntrack.entry(message) } catch { throw .malformed(error) }
                        if let entry, destinations.contains(entry.original.destination) { found.append(entry) }
                    }
                }
            }
            return (found, nil)
        } catch {
            return ([], "conntrack dump: \(error)")
        }
    }

    /// The per-CPU counters; nil with the reason when they cannot be read.
    public static func statistics(on sockets: NetlinkSockets) -> (statistics: [Conntrack.CPUStatistics]?, problem: String?) {
        do {
            let messages = try sockets.netfilter { try $0.dump(Conntrack.dumpStatistics) }
            return (try messages.compactMap { message throws in try Conntrack.statistics(message) }, nil)
        } catch {
            return (nil, "conntrack statistics: \(error)")
        }
    }
}

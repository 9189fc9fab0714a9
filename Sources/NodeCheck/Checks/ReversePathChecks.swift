import Diagnosis

/// RP_FILTER_STRICT, built here only: pods whose packets strict reverse-path filtering drops
/// where they enter the node, because the node's route back to them leaves by another interface.
/// A CNI that routes each pod back out of the interface it came in by (the bridge, a veth with a
/// /32, Calico's cali veths, where felix sets rp_filter 1 on purpose) never meets it. Pure.
public enum ReversePathChecks {
    public static func strict(_ paths: [ReversePath]) -> [Finding] {
        let dropped = paths.filter { path in
            path.rpFilter == 1 && path.routeInterface.map { $0 != path.arrival } == true
        }
        guard let first = dropped.first else { return [] }
        let evidence = dropped.prefix(5).map { path in
            "\(path.pod) (\(path.address)) enters by \(path.arrival), where rp_filter is 1; the route back to \(path.address) leaves by \(path.routeInterface ?? "?")"
        }
        return [
            Finding(
                .rpFilterStrict, .error,
                "Strict reverse-path filtering drops what \(dropped.count == 1 ? first.pod : "\(dropped.count) pods") send\(dropped.count == 1 ? "s" : ""): packets enter the node by one interface while the node routes \(dropped.count == 1 ? "the pod's address" : "their addresses") out of another.",
                hop: "node:\(first.arrival)",
                evidence: evidence + (dropped.count > 5 ? ["… and \(dropped.count - 5) more"] : []),
                remedy:
                    "If the route back is wrong (a leftover of an earlier CNI), delete it; if the CNI routes pods so on purpose, set rp_filter to 2 (loose) on that interface and on net.ipv4.conf.all, and persist it."
            )
        ]
    }
}

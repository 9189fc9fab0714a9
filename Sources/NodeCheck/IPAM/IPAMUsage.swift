import NetAddress

/// One host-local pool as the node holds it: its range sets' fill, and its reservations joined
/// with what the runtime and libcni's cache know.
public struct IPAMUsage: Sendable, Equatable {
    public var pool: HostLocalPool
    public var store: HostLocalStore
    public var sets: [RangeSetUsage]
    /// Reservations held by containers neither the runtime nor libcni's cache knows; nil when
    /// that could not be judged (the runtime was not asked or did not answer: its sandboxes are
    /// the ones that still own addresses).
    public var leaked: [IPAMReservation]?

    /// One range set: host-local gives each pod one address from it (the first range with room).
    public struct RangeSetUsage: Sendable, Equatable {
        public var index: Int
        public var ranges: [IPAMRange]
        public var capacity: UInt64
        public var used: Int
        /// As host-local's error names the set ("10.244.1.1-10.244.1.254").
        public var description: String { ranges.map(\.description).joined(separator: ",") }
        /// Used against capacity, 0…1 (and above, with reservations out of a shrunk range's bounds).
        public var fill: Double { capacity == 0 ? 1 : Double(used) / Double(capacity) }
    }

    /// `known`: the container IDs the runtime and the cache know (nil: the runtime was not
    /// asked, so leaks are not judged).
    public init(pool: HostLocalPool, store: HostLocalStore, known: Set<String>?) {
        self.pool = pool
        self.store = store
        sets = pool.rangeSets.enumerated().map { index, ranges in
            let capacity = ranges.reduce(UInt64(0)) { $0.addingReportingOverflow($1.capacity).overflow ? UInt64.max : $0 + $1.capacity }
            let used = store.reservations.filter { reservation in ranges.contains { $0.contains(reservation.address) } }.count
            return RangeSetUsage(index: index, ranges: ranges, capacity: capacity, used: used)
        }
        leaked = known.map { known in
            store.reservations.filter { reservation in reservation.containerID.map { !known.contains($0) } ?? false }
        }
    }
}

import NetAddress

/// One IPAM pool as the node holds it: host-local's data dir, Azure CNI's IPAM file, AWS VPC
/// CNI's ipamd checkpoint. Its sets' fill where the pool's size is on the node, and its
/// reservations joined with what the runtime and libcni's cache know.
public struct IPAMUsage: Sendable, Equatable {
    /// Which IPAM keeps it: "host-local", "azure-vnet-ipam", "aws-vpc-cni".
    public var ipam: String
    public var network: String
    /// Where the node keeps it: host-local's directory, the state file.
    public var place: String
    /// Where the pool's configuration was read.
    public var source: String
    public var reservations: [IPAMReservation]
    /// Reservations whose holder could not be read, with why.
    public var unreadable: [String]
    /// The pool's sets and their fill; [] where the node does not know the pool's size (AWS:
    /// only ipamd, live, knows its ENIs' addresses).
    public var sets: [RangeSetUsage]
    /// Reservations held by containers neither the runtime nor libcni's cache knows; nil when
    /// that could not be judged (the runtime was not asked or did not answer: its sandboxes are
    /// the ones that still own addresses).
    public var leaked: [IPAMReservation]?
    /// How an operator releases a leaked address of this IPAM.
    public var release: String

    /// One set: the IPAM gives each pod one address from it (host-local: one range set per family).
    public struct RangeSetUsage: Sendable, Equatable {
        public var index: Int
        /// As host-local's error names the set ("10.244.1.1-10.244.1.254"), or the pool's subnet.
        public var description: String
        public var capacity: UInt64
        public var used: Int
        let ranges: [IPAMRange]
        /// The pool's addresses where it is a list (Azure's secondary IPs), not ranges.
        let members: Set<IPAddress>

        public init(index: Int, description: String, capacity: UInt64, used: Int, ranges: [IPAMRange], members: Set<IPAddress> = []) {
            self.index = index
            self.description = description
            self.capacity = capacity
            self.used = used
            self.ranges = ranges
            self.members = members
        }

        public func contains(_ address: IPAddress) -> Bool { members.contains(address) || ranges.contains { $0.contains(address) } }
        /// Used against capacity, 0…1 (and above, with reservations out of a shrunk range's bounds).
        public var fill: Double { capacity == 0 ? 1 : Double(used) / Double(capacity) }
    }

    public init(
        ipam: String, network: String, place: String, source: String, reservations: [IPAMReservation], unreadable: [String],
        sets: [RangeSetUsage], known: Set<String>?, release: String
    ) {
        self.ipam = ipam
        self.network = network
        self.place = place
        self.source = source
        self.reservations = reservations
        self.unreadable = unreadable
        self.sets = sets
        self.release = release
        leaked = known.map { known in reservations.filter { reservation in reservation.containerID.map { !known.contains($0) } ?? false } }
    }

    /// host-local's pool: `known`, the container IDs the runtime and the cache know (nil: the
    /// runtime was not asked, so leaks are not judged).
    public init(pool: HostLocalPool, store: HostLocalStore, known: Set<String>?) {
        let sets = pool.rangeSets.enumerated().map { index, ranges in
            let capacity = ranges.reduce(UInt64(0)) { $0.addingReportingOverflow($1.capacity).overflow ? UInt64.max : $0 + $1.capacity }
            let used = store.reservations.filter { reservation in ranges.contains { $0.contains(reservation.address) } }.count
            return RangeSetUsage(
                index: index, description: ranges.map(\.description).joined(separator: ","), capacity: capacity, used: used, ranges: ranges)
        }
        self.init(
            ipam: "host-local", network: pool.network, place: store.directory, source: pool.source, reservations: store.reservations,
            unreadable: store.unreadable + (store.problem.map { [$0] } ?? []), sets: sets, known: known,
            release:
                "Check each container ID is gone (`crictl inspectp ID` says not found), then remove its file from \(store.directory); never remove a file while a pod is being created on the node (host-local holds \(store.directory)/lock then)."
        )
    }

    /// The leaked reservations within a set.
    public func leaked(in set: RangeSetUsage) -> [IPAMReservation] {
        leaked?.filter { set.contains($0.address) } ?? []
    }
}

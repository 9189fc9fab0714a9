import Diagnosis

/// The node's IPAM pools judged (host-local's, Azure CNI's, AWS VPC CNI's): full or nearly (IPAM_EXHAUSTED), holding addresses for containers
/// that are gone (IPAM_LEAKED), smaller than the pods the kubelet admits (IPAM_RANGE_TOO_SMALL).
/// Built here only. Pure: over IPAMUsage.
public enum IPAMChecks {
    /// From this fill on, a range set is worth a warning: a few more pods and none starts.
    public static let warningFill = 0.9

    /// `maxPods`: the kubelet's, with where it came from (its config, or Kubernetes' default).
    public static func findings(_ usage: IPAMUsage, maxPods: (value: Int, source: String)) -> [Finding] {
        var found: [Finding] = []
        for set in usage.sets {
            found += exhausted(set, usage: usage)
            found += tooSmall(set, usage: usage, maxPods: maxPods)
        }
        found += leaked(usage)
        return found
    }

    static func exhausted(_ set: IPAMUsage.RangeSetUsage, usage: IPAMUsage) -> [Finding] {
        guard set.capacity > 0, set.fill >= warningFill else { return [] }
        let full = UInt64(set.used) >= set.capacity
        let leaked = usage.leaked(in: set)
        var evidence = [
            "\(usage.place): \(set.used) addresses reserved in \(usage.ipam == "host-local" ? "range set \(set.index) (\(set.description))" : set.description), which has \(set.capacity) to give\(usage.ipam == "host-local" ? " (the gateway excluded)" : "")",
            "pool from \(usage.source)",
        ]
        if !leaked.isEmpty { evidence.append("\(leaked.count) of them held by containers the runtime does not know (IPAM_LEAKED)") }
        return [
            Finding(
                .ipamExhausted, full ? .error : .warning,
                full
                    ? (usage.ipam == "host-local"
                        ? "host-local's range set \(set.index) of \(usage.network) is full: a new pod gets \"failed to allocate for range \(set.index): no IP addresses available in range set: \(set.description)\" and stays in ContainerCreating."
                        : "\(usage.ipam)'s pool \(set.description) of \(usage.network) is full: a new pod gets no address and stays in ContainerCreating.")
                    : "\(usage.ipam)'s \(usage.ipam == "host-local" ? "range set \(set.index)" : "pool \(set.description)") of \(usage.network) is \(Int(set.fill * 100))% used: \(set.capacity - UInt64(min(UInt64(set.used), set.capacity))) addresses left.",
                hop: usage.place, evidence: evidence,
                remedy: leaked.isEmpty
                    ? "Give the node a larger pod range (the node's podCIDR, or the range in the CNI config), or admit fewer pods (the kubelet's maxPods)."
                    : "Release the leaked addresses first (IPAM_LEAKED says which files); then size the range to the kubelet's maxPods.")
        ]
    }

    static func tooSmall(_ set: IPAMUsage.RangeSetUsage, usage: IPAMUsage, maxPods: (value: Int, source: String)) -> [Finding] {
        guard set.capacity < UInt64(maxPods.value) else { return [] }
        return [
            Finding(
                .ipamRangeTooSmall, .warning,
                "\(usage.ipam)'s \(usage.ipam == "host-local" ? "range set \(set.index)" : "pool \(set.description)") of \(usage.network) has \(set.capacity) addresses, fewer than the \(maxPods.value) pods the kubelet admits: pods past \(set.capacity) will not get an address.",
                hop: usage.place,
                evidence: [
                    "\(usage.ipam == "host-local" ? "range set \(set.index): " : "")\(set.description) (\(set.capacity) addresses\(usage.ipam == "host-local" ? ", the gateway excluded" : "")), from \(usage.source)",
                    "maxPods \(maxPods.value) (\(maxPods.source))",
                ],
                remedy: "Give the node a pod range of at least maxPods addresses, or lower the kubelet's maxPods to what the range holds.")
        ]
    }

    static func leaked(_ usage: IPAMUsage) -> [Finding] {
        guard let leaked = usage.leaked, !leaked.isEmpty else { return [] }
        let shown = leaked.prefix(10).map { reservation in
            "\(reservation.file): held for container \(reservation.containerID ?? "?")\(reservation.interface.map { " (\($0))" } ?? "")"
        }
        return [
            Finding(
                .ipamLeaked, .warning,
                "\(leaked.count) address\(leaked.count == 1 ? " is" : "es are") reserved by \(usage.ipam) for containers neither the runtime nor libcni's cache knows: a CNI DEL never ran for them (a node crash, a killed runtime), and they are not given to new pods.",
                hop: usage.place,
                evidence: shown + (leaked.count > 10 ? ["… and \(leaked.count - 10) more"] : []),
                remedy: usage.release
            )
        ]
    }
}

import BPF
import Cilium
import Diagnosis
import NetAddress

/// CILIUM_ENDPOINT_NOT_READY: a pod on a Cilium node whose endpoint the datapath does not have as
/// it must: no entry in cilium_lxc for its address, an entry naming another device than its
/// host-side veth, or a veth without Cilium's program on its ingress (cil_from_container, over
/// tc, tcx or netkit), which every packet the pod sends must meet.
public enum CiliumEndpointChecks {
    public static let codes: [FindingCode] = [.ciliumEndpointNotReady]

    /// Cilium's entry program where what the pod sends meets it: the host veth's tc or tcx
    /// ingress, or a netkit hook (netkit runs its programs on the device pair's transmit paths).
    public static func fromContainer(_ programs: [AttachedProgram]) -> [AttachedProgram] {
        programs.filter {
            ($0.point.isIngress || $0.point == .netkitPrimary || $0.point == .netkitPeer) && $0.program.name.hasPrefix("cil_from_contai")
        }
    }

    /// `hostVeth`: the pod's host-side device (index, name), nil when not found; `programs`: those
    /// attached to it; `endpoints`: cilium_lxc's entries; `policySlot`: whether the endpoint's
    /// slot in cilium_call_policy holds a program, by endpoint id (absent: not read);
    /// `ipcache`: the identity the ipcache gives each address (absent: not read or no entry).
    public static func check(
        pod label: String, addresses: [IPAddress], hostVeth: (index: Int32, name: String)?, programs: [AttachedProgram],
        endpoints: [CiliumEndpoint], policySlot: [UInt16: Bool] = [:], ipcache: [IPAddress: UInt32] = [:]
    ) -> [Finding] {
        let mine = endpoints.filter { addresses.contains($0.address) && !$0.isHost }
        guard let endpoint = mine.first else {
            return [
                Finding(
                    .ciliumEndpointNotReady, .error,
                    "Cilium's datapath has no endpoint for \(label): cilium_lxc has none of \(addresses.map(\.description).joined(separator: ", ")).",
                    hop: hostVeth.map { "node:\($0.name)" },
                    evidence: ["cilium_lxc: \(endpoints.count) endpoints, none with the pod's address"],
                    remedy:
                        "The agent has not (re)created the endpoint: cilium-dbg endpoint list on the node; restart the pod if it stays missing."
                )
            ]
        }
        var findings: [Finding] = []
        let evidence =
            "cilium_lxc: \(endpoint.address) endpoint \(endpoint.endpointID), identity \(endpoint.identity), ifindex \(endpoint.interfaceIndex)"
        if let hostVeth, endpoint.interfaceIndex != UInt32(bitPattern: hostVeth.index) {
            findings.append(
                Finding(
                    .ciliumEndpointNotReady, .error,
                    "Cilium's endpoint for \(label) names device \(endpoint.interfaceIndex), not its host-side veth \(hostVeth.name) (\(hostVeth.index)).",
                    hop: "node:\(hostVeth.name)", evidence: [evidence],
                    remedy:
                        "A stale endpoint from an earlier sandbox: the agent regenerates it (cilium-dbg endpoint regenerate), or restart the pod."
                ))
        }
        // The datapath takes a local sender's identity from the ipcache: one that disagrees
        // with the endpoint's is a stale entry, and peers' policies judge the pod as someone else.
        for address in addresses.sorted(by: { $0.description < $1.description }) {
            guard let cached = ipcache[address], cached != endpoint.identity else { continue }
            findings.append(
                Finding(
                    .ciliumEndpointNotReady, .error,
                    "The ipcache gives \(label)'s address \(address) identity \(cached), but its endpoint has identity \(endpoint.identity): Cilium's policies on this node judge its packets as identity \(cached).",
                    hop: hostVeth.map { "node:\($0.name)" }, evidence: [evidence, "ipcache: \(address) is identity \(cached)"],
                    remedy:
                        "A stale ipcache entry (an identity that changed while the agent was behind): cilium-dbg bpf ipcache get \(address) against cilium-dbg endpoint get \(endpoint.endpointID); restarting the agent resynchronises the ipcache."
                ))
        }
        if policySlot[endpoint.endpointID] == false {
            findings.append(
                Finding(
                    .ciliumEndpointNotReady, .error,
                    "\(label)'s endpoint \(endpoint.endpointID) has no program in its cilium_call_policy slot: what is delivered to it misses its policy program and is dropped (Cilium's 140, Missed tail call).",
                    hop: hostVeth.map { "node:\($0.name)" }, evidence: [evidence, "cilium_call_policy[\(endpoint.endpointID)]: empty"],
                    remedy:
                        "The endpoint's policy program was not (re)loaded: cilium-dbg endpoint regenerate \(endpoint.endpointID), or restart the agent."
                ))
        }
        // Two of Cilium's entry programs on one hook: an older agent's attachment left beside the
        // new one (1.16 moved from tc filters to tcx links), and the packet meets both.
        let entries = fromContainer(programs)
        if entries.count > 1, let hostVeth {
            findings.append(
                Finding(
                    .ciliumEndpointNotReady, .warning,
                    "\(label)'s host-side veth \(hostVeth.name) runs \(entries.count) cil_from_container programs on its ingress: a stale attachment beside the current one.",
                    hop: "node:\(hostVeth.name)", evidence: [evidence] + entries.map { "attached: \($0.summary)" },
                    remedy:
                        "An agent upgrade that left its older attachment (tc filter beside tcx link): cilium-dbg endpoint regenerate \(endpoint.endpointID); remove the stale tc filter if it stays (tc filter show dev \(hostVeth.name) ingress)."
                ))
        }
        let fromContainer = !entries.isEmpty
        if let hostVeth, !fromContainer {
            findings.append(
                Finding(
                    .ciliumEndpointNotReady, .error,
                    "\(label)'s host-side veth \(hostVeth.name) runs no cil_from_container on its ingress: Cilium's datapath never sees what the pod sends.",
                    hop: "node:\(hostVeth.name)",
                    evidence: [evidence]
                        + (programs.isEmpty ? ["no BPF program attached to \(hostVeth.name)"] : programs.map { "attached: \($0.summary)" }),
                    remedy:
                        "The endpoint's programs were not (re)attached: cilium-dbg endpoint regenerate \(endpoint.endpointID), or restart the agent."
                ))
        }
        return findings
    }
}

/// What a trace read of one of its pods' Cilium endpoint: judged by CiliumEndpointChecks.
public struct CiliumEndpointFact: Sendable {
    public var pod: String
    public var addresses: [IPAddress]
    public var hostVeth: (index: Int32, name: String)?
    public var programs: [AttachedProgram]
    public var endpoints: [CiliumEndpoint]
    public var policySlot: [UInt16: Bool]
    public var ipcache: [IPAddress: UInt32]

    public init(
        pod: String, addresses: [IPAddress], hostVeth: (index: Int32, name: String)?, programs: [AttachedProgram],
        endpoints: [CiliumEndpoint], policySlot: [UInt16: Bool], ipcache: [IPAddress: UInt32] = [:]
    ) {
        self.ipcache = ipcache
        self.pod = pod
        self.addresses = addresses
        self.hostVeth = hostVeth
        self.programs = programs
        self.endpoints = endpoints
        self.policySlot = policySlot
    }

    public var findings: [Finding] {
        CiliumEndpointChecks.check(
            pod: pod, addresses: addresses, hostVeth: hostVeth, programs: programs, endpoints: endpoints, policySlot: policySlot,
            ipcache: ipcache)
    }
}

import BPF
import Checks
import Cilium
import KernelState
import NetAddress
import NetlinkCodec
import PathFacts

/// Where Cilium's datapath sends a pod's packet before the node routes it: in tunnel mode
/// cil_from_container looks the destination up in the ipcache and, when it names a tunnel
/// endpoint (the node the address lives on), encapsulates towards it through cilium_vxlan. The
/// node's routes (via cilium_host) are what the kernel would do without the program, so the
/// path follows the ipcache only where the pod's veth runs cil_from_container; without it, the
/// kernel's routing is the path (and CILIUM_ENDPOINT_NOT_READY says why).
enum CiliumTunnel {
    static func decider(_ cilium: CiliumDatapath, node: LiveNode) -> PathGatherer.DatapathTunnel {
        { veth, namespace, destination in
            guard case .success(let found?) = cilium.identity(of: destination), let endpoint = found.tunnelEndpoint,
                runsFromContainer(veth, in: namespace, node: node)
            else { return nil }
            return (
                endpoint,
                "Cilium's ipcache: \(destination) is identity \(found.identity), behind tunnel endpoint \(endpoint); cil_from_container on \(veth.name) encapsulates it there"
            )
        }
    }

    /// The path's pods of this node (its source; its destination when local) with their endpoints.
    static func endpoints(
        _ cilium: CiliumDatapath, ends: TraceEnds, hops: [TraceHop], programs: [String: [AttachedProgram]]
    )
        -> [CiliumEndpointFact]
    {
        guard case .success(let endpoints) = cilium.endpoints() else { return [] }
        let pods = [(ends.source, TraceHop.Role.hostSide)] + (ends.destinationPod.map { [($0, TraceHop.Role.destinationHostSide)] } ?? [])
        return pods.compactMap { pod, role in
            let hop = hops.first { $0.role == role && $0.node == nil }
            let endpoint = endpoints.first { pod.addresses.contains($0.address) && !$0.isHost }
            let attached = hop.flatMap { programs[$0.name] } ?? []
            // A pod Cilium does not know and whose veth runs none of its programs is not Cilium's
            // (another CNI's, or maps left pinned by a Cilium that is gone): nothing to judge.
            guard endpoint != nil || attached.contains(where: { $0.program.owner == "Cilium" }) else { return nil }
            return CiliumEndpointFact(
                pod: pod.label, addresses: pod.addresses, hostVeth: hop?.link.map { ($0.index, $0.name) },
                programs: attached, endpoints: endpoints, policySlot: cilium.policySlots(of: endpoint),
                ipcache: cilium.identities(of: pod.addresses))
        }
    }

    static func runsFromContainer(_ veth: Link, in namespace: KnownNamespace, node: LiveNode) -> Bool {
        guard case .some = NodePrograms.onInterfacePaths(), let handle = try? node.handle(namespace),
            let reading = try? handle.run({ AttachedPrograms.read(links: [veth], socket: handle.socket, only: [veth.index]) })
        else { return false }
        return !CiliumEndpointChecks.fromContainer(reading.programs).isEmpty
    }
}

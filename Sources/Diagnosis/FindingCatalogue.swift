/// Every finding code with what it means, how netdoctor decides it and what to do. The docs'
/// finding catalogue and `netdoctor explain` are both made from this one list.
public enum FindingCatalogue {
    public struct Entry: Sendable {
        public let code: FindingCode
        /// Which command reports it.
        public let area: String
        public let meaning: String
        public let decidedBy: String
        public let remedy: String
        /// Whether the contract defines it (others are netdoctor's own additions).
        public let inContract: Bool
    }

    /// The file that raises each code: the one place its finding is built (a test holds every
    /// source file to it).
    public static let decidedIn: [FindingCode: String] = [
        .cniNoConfig: "Sources/CNIDetection/Findings/NoConfig.swift",
        .cniConfigInvalid: "Sources/CNIDetection/Findings/ConfigInvalid.swift",
        .cniVersionUnsupported: "Sources/CNIDetection/Findings/VersionUnsupported.swift",
        .cniBinaryMissing: "Sources/CNIDetection/Findings/BinaryMissing.swift",
        .cniMultipleConfigs: "Sources/CNIDetection/RuntimeLoad.swift", .cniStaleConfig: "Sources/CNIDetection/CNIDetector.swift",
        .runtimeConfigInvalid: "Sources/CNIDetection/RuntimeChecks.swift",
        .kubeletConfigInvalid: "Sources/CNIDetection/KubeletChecks.swift",
        .cniMTUTooLarge: "Sources/CNIDetection/CNIDetector.swift", .cniMTUTooSmall: "Sources/CNIDetection/ConfigFileReading.swift",
        .cniConfigIgnored: "Sources/CNIDetection/CNIDetector.swift", .cniTemplateUnrendered: "Sources/CNIDetection/ConfigFileReading.swift",
        .cniConfigSuspicious: "Sources/CNIDetection/ConfigFileReading.swift",
        .cniChainIncomplete: "Sources/CNIDetection/ConfigFileReading.swift",
        .cniLoopbackOnly: "Sources/CNIDetection/CNIDetector.swift", .runtimeConfigDeprecated: "Sources/CNIDetection/RuntimeChecks.swift",
        .runtimeMismatch: "Sources/CNIDetection/RuntimeChecks.swift",
        .runtimeConfigSuspicious: "Sources/CNIDetection/Findings/RuntimeConfigSuspicious.swift",
        .cniConfTemplate: "Sources/CNIDetection/RuntimeChecks.swift", .cniDirsNonDefault: "Sources/CNIDetection/RuntimeChecks.swift",
        .kubeletFlagRemoved: "Sources/CNIDetection/KubeletChecks.swift",
        .kubeletConfigSuspicious: "Sources/CNIDetection/KubeletChecks.swift",
        .nodeFileUnreadable: "Sources/CNIDetection/Findings/NodeFileUnreadable.swift",
        .runtimeUnreachable: "Sources/RuntimeModel/RuntimeStatus.swift",
        .podCacheStale: "Sources/Pods/PodMerge.swift", .podCacheMissing: "Sources/Pods/PodMerge.swift",
        .podSourcesDisagree: "Sources/Pods/PodMerge.swift",
        .linkDown: "Sources/Checks/LinkDown.swift", .noRoute: "Sources/Checks/NoRoute.swift",
        .ipForwardDisabled: "Sources/Checks/IPForwardDisabled.swift", .neighborFailed: "Sources/Checks/NeighborChecks.swift",
        .neighborMACMismatch: "Sources/Checks/NeighborChecks.swift", .bridgePortMissing: "Sources/Checks/BridgePortMissing.swift",
        .overlayFDBMissing: "Sources/Checks/OverlayFDBMissing.swift", .duplicateIP: "Sources/Checks/DuplicateIP.swift",
        .collectionFailed: "Sources/Checks/CollectionFailed.swift", .firewallDrop: "Sources/Checks/FirewallDrop.swift",
        .firewallUnreadable: "Sources/Checks/FirewallDrop.swift", .replyMissing: "Sources/Checks/ProbeVerdict.swift",
        .lostBeyondNode: "Sources/Checks/ProbeVerdict.swift", .portClosed: "Sources/Checks/ProbeVerdict.swift",
        .captureDropped: "Sources/Capture/CaptureReport.swift", .mtuMismatch: "Sources/PathMTU/MTUChecks.swift",
        .pmtuBlackhole: "Sources/PathMTU/MTUChecks.swift", .probeNoAnswer: "Sources/PathMTU/MTUChecks.swift",
        .agentUnreachable: "Sources/Trace/RemoteHalfCall.swift", .labIncomplete: "Sources/Lab/LabStatus.swift",
        .ipamExhausted: "Sources/NodeCheck/Checks/IPAMChecks.swift", .ipamLeaked: "Sources/NodeCheck/Checks/IPAMChecks.swift",
        .ipamRangeTooSmall: "Sources/NodeCheck/Checks/IPAMChecks.swift",
        .runtimeNetworkNotReady: "Sources/NodeCheck/Checks/RuntimeNetworkChecks.swift",
        .sandboxNetworkFailed: "Sources/NodeCheck/Checks/SandboxChecks.swift",
        .bridgeAddressMismatch: "Sources/NodeCheck/Checks/BridgeChecks.swift",
        .brNetfilterDisabled: "Sources/NodeCheck/Checks/BridgeChecks.swift",
        .flannelSubnetMissing: "Sources/NodeCheck/Checks/FlannelChecks.swift",
        .conntrackTableFull: "Sources/NodeCheck/Checks/TableChecks.swift", .neighborTableFull: "Sources/NodeCheck/Checks/TableChecks.swift",
        .nodePortRangeOverlap: "Sources/NodeCheck/Checks/PortRangeChecks.swift",
        .overlayWrongUnderlay: "Sources/NodeCheck/Checks/OverlayChecks.swift",
        .rpFilterStrict: "Sources/NodeCheck/Checks/ReversePathChecks.swift",
        .linkManagedByHost: "Sources/NodeCheck/Checks/HostManagerChecks.swift",
        .serviceNoEndpoints: "Sources/Services/ServiceChecks.swift", .serviceNoLocalEndpoints: "Sources/Services/ServiceChecks.swift",
        .serviceNotProgrammed: "Sources/Services/ServiceChecks.swift", .serviceRulesUnreadable: "Sources/Services/ServiceChecks.swift",
        .endpointUnreachable: "Sources/Trace/ServiceVerdict.swift", .staleConntrack: "Sources/Services/ServiceChecks.swift",
        .conntrackFailures: "Sources/Services/ServiceChecks.swift", .masqueradeMissing: "Sources/Services/ServiceChecks.swift",
        .hairpinDisabled: "Sources/Services/ServiceChecks.swift", .proxyStale: "Sources/Services/ServiceChecks.swift",
        .dnsServerUnreachable: "Sources/DNS/DNSChecks.swift", .dnsUDPBlocked: "Sources/DNS/DNSChecks.swift",
        .dnsNoAnswer: "Sources/DNS/DNSChecks.swift",
        .dnsNXDomain: "Sources/DNS/DNSChecks.swift", .dnsServerError: "Sources/DNS/DNSChecks.swift",
        .dnsSlow: "Sources/DNS/DNSChecks.swift",
        .dnsConfigMismatch: "Sources/DNS/DNSChecks.swift", .dnsConfigInvalid: "Sources/DNS/DNSChecks.swift",
        .dnsLoopRisk: "Sources/DNS/DNSChecks.swift",
        .dnsConntrackRace: "Sources/DNS/DNSChecks.swift", .nodeLocalDNSBroken: "Sources/DNS/NodeLocalDNS.swift",
        .policyDenied: "Sources/Checks/PolicyDenied.swift", .policyICMPOnly: "Sources/Checks/PolicyDenied.swift",
        .kernelDrop: "Sources/Checks/KernelDrops.swift", .rpFilterDrop: "Sources/Checks/KernelDrops.swift",
        .bpfProgramDrop: "Sources/Checks/KernelDrops.swift", .dropReasonsUnavailable: "Sources/Checks/KernelDrops.swift",
        .ciliumDrop: "Sources/Checks/CiliumDrops.swift", .ciliumEndpointNotReady: "Sources/Checks/CiliumEndpointChecks.swift",
        .ruleTraceFailed: "Sources/Trace/RuleTraceFindings.swift", .policyEngineDown: "Sources/Checks/QueuedPolicyChecks.swift",
        .addressTentative: "Sources/Checks/AddressState.swift", .addressDADFailed: "Sources/Checks/AddressState.swift",
        .addressDeprecated: "Sources/Checks/AddressState.swift", .ipv6RAIgnored: "Sources/Checks/RouterAdvertisements.swift",
        .watchProbeFailed: "Sources/Watch/IncidentsReport.swift",
    ]

    public static let entries: [Entry] = [
        Entry(
            code: .cniNoConfig, area: "detect-cni",
            meaning:
                "The runtime finds no usable network configuration in its CNI conf dir, so the node stays NotReady (\"cni plugin not initialized\", \"No CNI configuration file\") and no pod gets a network.",
            decidedBy:
                "The conf dir comes from the runtime's own config (containerd conf_dir, CRI-O network_dir, defaults otherwise). It is listed the way libcni lists it (.conf, .conflist, .json, not recursive). The finding is raised when no file is there, when containerd would fail the load, or when CRI-O would skip every file.",
            remedy:
                "Install the CNI (its DaemonSet writes the file), or fix the file the runtime rejects. Check that the runtime's conf_dir/network_dir is the directory the CNI writes to.",
            inContract: true),
        Entry(
            code: .cniConfigInvalid, area: "detect-cni",
            meaning:
                "A file in the conf dir is not valid JSON, or lacks what libcni requires (a network name, a plugin type, a non-empty plugins list).",
            decidedBy:
                "Each file is parsed the way libcni does (Go's encoding/json: no comments, no trailing commas, last duplicate key wins). The evidence gives the file, line and column. containerd fails the whole load on such a file if it sorts before the max_conf_num-th network; CRI-O skips it.",
            remedy:
                "Fix the file at the position shown, or remove it if it is a leftover. For containerd nodes this is urgent: one broken file stops every new pod.",
            inContract: true),
        Entry(
            code: .cniVersionUnsupported, area: "detect-cni",
            meaning: "The configuration names a cniVersion libcni does not accept, or one too old for the chain it describes.",
            decidedBy:
                "cniVersion is compared with libcni's list (0.1.0 0.2.0 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0). A chain of several plugins needs 0.3.0 or later (prevResult); cniVersions (spec 1.1) needs libcni 1.2 or later.",
            remedy:
                "Set cniVersion to a version both the runtime's libcni and the installed plugins support (1.0.0 for current plugins, 0.4.0 for older ones).",
            inContract: true),
        Entry(
            code: .cniBinaryMissing, area: "detect-cni",
            meaning:
                "A plugin or IPAM type in the active chain has no executable in the runtime's bin dirs, so every pod sandbox fails (\"failed to find plugin … in path\").",
            decidedBy:
                "Each type is looked up in the bin dirs from the runtime config (containerd bin_dir/bin_dirs, CRI-O plugin_dirs), under --root, following symlinks inside the node root; a file without an execute bit counts as missing.",
            remedy:
                "Install the plugin binaries (containernetworking-plugins, or the CNI's own install container) into the bin dir the runtime uses, or point the runtime at the directory that holds them.",
            inContract: true),
        Entry(
            code: .cniMultipleConfigs, area: "detect-cni",
            meaning:
                "The conf dir holds more than one network configuration; only the first in libcni's byte order is the pod network (containerd with max_conf_num 1; CRI-O without cni_default_network).",
            decidedBy:
                "Files are sorted byte-wise as Go's sort.Strings does; the finding names the winner and why, and says which files share a network name (the first one wins).",
            remedy:
                "Remove the configs of CNIs no longer in use. If two are meant to coexist, use multus or set cni_default_network (CRI-O).",
            inContract: true),
        Entry(
            code: .cniStaleConfig, area: "detect-cni",
            meaning: "The winning configuration belongs to a CNI that is not installed on this node, while another configuration's CNI is.",
            decidedBy:
                "The winner's plugin binaries are missing from the bin dirs, while every plugin of another configuration in the conf dir is present.",
            remedy: "Delete the stale file (it is left over from a previous CNI) so the installed CNI's file wins.",
            inContract: true),
        Entry(
            code: .runtimeConfigInvalid, area: "detect-cni",
            meaning:
                "The container runtime's config (containerd config.toml, CRI-O crio.conf or a drop-in) does not parse, so the runtime will not start with it.",
            decidedBy: "The file is parsed as TOML; the evidence gives the line and column of the first error.",
            remedy:
                "Fix the file at the position shown (unrendered templates and shell variables are a common cause) and restart the runtime.",
            inContract: true),
        Entry(
            code: .kubeletConfigInvalid, area: "detect-cni",
            meaning: "The kubelet's config file, a --config-dir drop-in, kubeadm-flags.env or a systemd drop-in does not parse.",
            decidedBy:
                "KubeletConfiguration is parsed as YAML/JSON; env files and unit files as systemd parses them. The evidence gives the file and line.",
            remedy: "Fix the file at the position shown, then restart the kubelet.",
            inContract: true),
        Entry(
            code: .cniMTUTooLarge, area: "detect-cni",
            meaning:
                "The pod MTU the CNI configures is larger than the node's uplink MTU minus the encapsulation overhead: large packets will be dropped or need fragmentation.",
            decidedBy:
                "The pod MTU comes from the conf (or flannel's subnet.env, calico's /var/lib/calico/mtu when the conf says 0); the uplink MTU from the kernel (the default route's device) or --uplink-mtu; overheads: VXLAN/Geneve 50, IP-in-IP 20, WireGuard 60/80.",
            remedy: "Lower the CNI's MTU to the uplink MTU minus the overhead (e.g. 1450 for VXLAN over 1500), or raise the underlay MTU.",
            inContract: true),
        Entry(
            code: .cniMTUTooSmall, area: "detect-cni",
            meaning: "The configured pod MTU is unusually small (below 1280): IPv6 cannot work and throughput suffers.",
            decidedBy: "A numeric mtu below 1280 in the active plugin.",
            remedy: "Use the largest MTU the path carries (mtu-probe measures it).",
            inContract: false),
        Entry(
            code: .cniConfigIgnored, area: "detect-cni",
            meaning:
                "A file in the conf dir is not loaded by libcni (its name does not end in .conf, .conflist or .json): templates, backups, files renamed away by another CNI.",
            decidedBy: "libcni's ConfFiles matches the extension exactly.",
            remedy: "Nothing is needed; remove leftovers to avoid confusion.",
            inContract: false),
        Entry(
            code: .cniTemplateUnrendered, area: "detect-cni",
            meaning:
                "A configuration still holds template placeholders (__MTU__, {{ … }}, @mtu, ${var}), so its values are not what the installer meant.",
            decidedBy: "Placeholder patterns found in the file's text.",
            remedy: "Let the CNI's installer render it, or fill in the values.",
            inContract: false),
        Entry(
            code: .cniConfigSuspicious, area: "detect-cni",
            meaning:
                "The configuration loads but contains something likely wrong: a duplicate key, a number given as a string, a key libcni or the plugin ignores, a public address range as pod subnet.",
            decidedBy: "Checks on the parsed file.",
            remedy: "Correct the key as the evidence says.",
            inContract: false),
        Entry(
            code: .cniChainIncomplete, area: "detect-cni",
            meaning:
                "The plugin chain cannot give pods a working interface (a meta plugin used alone, no IPAM for a plugin that needs one), or lacks a common capability (no portmap: hostPort does not work).",
            decidedBy: "The chain's plugin types and their ipam sections.",
            remedy: "Put an interface plugin first (bridge, ptp, the CNI's own) and chain meta plugins after it; add portmap for hostPort.",
            inContract: false),
        Entry(
            code: .cniLoopbackOnly, area: "detect-cni",
            meaning: "The winning network only sets up loopback: pods get no network interface.",
            decidedBy: "Every plugin in the active chain is of type loopback.",
            remedy: "Install the pod network's configuration so that it sorts before the loopback file.",
            inContract: false),
        Entry(
            code: .runtimeConfigDeprecated, area: "detect-cni",
            meaning:
                "The runtime config uses a form a newer runtime rejects or ignores (containerd version-1 config, bin_dir after 2.1, CRI-O plugin_dir), or puts CNI settings in a section its version does not read.",
            decidedBy: "The config's version key and the sections and keys it uses.",
            remedy: "Migrate the config (`containerd config migrate`) or move the keys to the section the evidence names.",
            inContract: false),
        Entry(
            code: .runtimeMismatch, area: "detect-cni",
            meaning: "The kubelet's container runtime endpoint names another runtime than the one configured on this node.",
            decidedBy: "containerRuntimeEndpoint (or --container-runtime-endpoint) compared with the runtime configs found.",
            remedy: "Point the kubelet at the runtime that is installed, or configure that runtime's CNI settings.",
            inContract: false),
        Entry(
            code: .runtimeConfigSuspicious, area: "detect-cni",
            meaning:
                "The runtime config parses but holds a value that looks wrong: a placeholder where an image reference belongs, a cgroup driver the kubelet does not use.",
            decidedBy: "Checks on the parsed runtime config and the kubelet's settings.",
            remedy: "Correct the value as the evidence says.",
            inContract: false),
        Entry(
            code: .cniConfTemplate, area: "detect-cni",
            meaning: "containerd writes the CNI config itself from conf_template once the node has a podCIDR (kubenet-style setups, GKE).",
            decidedBy: "conf_template set in containerd's CNI section.",
            remedy: "Nothing, if intended; with an empty conf dir, check that the node has a podCIDR.",
            inContract: false),
        Entry(
            code: .cniDirsNonDefault, area: "detect-cni",
            meaning:
                "The runtime reads CNI configs or plugins from directories other than /etc/cni/net.d and /opt/cni/bin (k3s, GKE): tools and installers that assume the defaults look in the wrong place.",
            decidedBy: "conf_dir, bin_dir(s), network_dir or plugin_dirs differ from the defaults.",
            remedy: "Point CNI installers at the runtime's directories (netdoctor already follows them).",
            inContract: false),
        Entry(
            code: .kubeletFlagRemoved, area: "detect-cni",
            meaning:
                "The kubelet is started with a flag that current kubelets removed (--network-plugin, --cni-conf-dir, --cni-bin-dir since 1.24, --container-runtime=remote since 1.27): a current kubelet will not start with it.",
            decidedBy:
                "Flags gathered from the kubelet's systemd unit, drop-ins and environment files (kubeadm-flags.env, /etc/default/kubelet).",
            remedy: "Remove the flag; CNI settings now belong to the container runtime's config.",
            inContract: false),
        Entry(
            code: .kubeletConfigSuspicious, area: "detect-cni",
            meaning:
                "The kubelet's settings parse but look wrong for pod networking: a clusterDNS that is not a usable address, no runtime endpoint anywhere, a drop-in line systemd ignores.",
            decidedBy: "Checks on the merged kubelet settings.",
            remedy: "Correct the setting as the evidence says.",
            inContract: false),
        Entry(
            code: .nodeFileUnreadable, area: "all",
            meaning:
                "A node file netdoctor needs could not be read (permission denied, a directory or device where a file should be, larger than 1 MiB, a symbolic link loop).",
            decidedBy: "The error from opening or reading the file under --root.",
            remedy: "Run as root, check --root, or fix the file as the evidence says.",
            inContract: false),
        Entry(
            code: .linkDown, area: "trace, inspect",
            meaning: "An interface on the path is administratively or operationally down.",
            decidedBy:
                "IFLA_OPERSTATE and IFF_UP of each interface on the path (inspect: the pod's interfaces and its host side), read over rtnetlink in its namespace. A link whose IFF_UP is cleared is the cause; its veth peer and a bridge that follow it down are its evidence.",
            remedy: "Bring the interface up (`ip link set DEV up`) and find what took it down (the CNI agent, a stale veth).",
            inContract: true),
        Entry(
            code: .noRoute, area: "trace, inspect",
            meaning: "A namespace on the path has no route to the next hop, in the forward or the reply direction.",
            decidedBy:
                "The kernel's answer to the route lookups a packet causes (as `ip route get`, with `iif` for a forwarding decision) in each namespace on the path: no route, or a route that rejects (unreachable, prohibit, blackhole, reverse-path check). A lookup the kernel could not answer is COLLECTION_FAILED instead. Also when the probe stops at a hop with nothing else to blame; when a destination in the pod network falls through to a less specific route (the default route, say one learned from router advertisements): a pod of this node without its host route, or a remote node's calico block or flannel subnet that the overlay device knows (its VTEP's neighbour and FDB entries) without its route; and (inspect, a warning) a pod without a default route.",
            remedy: "Restore the route the CNI installs (restart its agent) or add it by hand to confirm.",
            inContract: true),
        Entry(
            code: .ipForwardDisabled, area: "trace, inspect",
            meaning:
                "A node that must route pod traffic has forwarding off in that traffic's family: net.ipv4.ip_forward=0, or net.ipv6.conf.all.forwarding=0 (IPv6 pods cut off while IPv4 still works).",
            decidedBy:
                "The sysctl of the probe's family read inside the node's namespace, when a traced path crosses the node, or (inspect node) when the node has pod interfaces (veths or a bridge); IPv6's only where a pod interface has a global IPv6 address or route.",
            remedy: "sysctl -w net.ipv4.ip_forward=1 (IPv6: net.ipv6.conf.all.forwarding=1) and persist it in /etc/sysctl.d.",
            inContract: true),
        Entry(
            code: .neighborFailed, area: "trace, inspect",
            meaning: "An ARP/NDP entry on the path is FAILED or INCOMPLETE: the next hop does not answer.",
            decidedBy:
                "Neighbour table state for the next hop in each namespace: the source's gateway, the node's underlay gateway (read again after the probe), the overlay's remote VTEP. inspect lists every such entry as a warning.",
            remedy: "Check that the next hop exists and is up on that segment.",
            inContract: true),
        Entry(
            code: .neighborMACMismatch, area: "trace",
            meaning: "A neighbour entry names a MAC that is not the next hop's.",
            decidedBy:
                "The neighbour's lladdr compared with the MAC of the interface that owns the address (a pod's gateway: the bridge's or the host veth's); for the node's next hop off the node, pinned by a permanent (static) entry the kernel never checks again, with who answers for the address now: one ARP probe (IPv4) or one Neighbor Solicitation as duplicate address detection sends it (IPv6, from the unspecified address, so no neighbour cache learns from it).",
            remedy: "Delete the stale entry (`ip neigh del`) and find what set it (a static entry, a duplicate IP).",
            inContract: true),
        Entry(
            code: .bridgePortMissing, area: "trace, inspect",
            meaning:
                "A pod's host-side veth is not attached to the bridge its node's other pods are on, and nothing routes to it: traffic cannot reach the pod.",
            decidedBy:
                "The host veth has no IFLA_MASTER and no main-table route names it as its device, while the node's other pod veths are ports of a bridge (a routed CNI, whose veths are route targets, is never judged by this). The same rule for trace, inspect and the agent.",
            remedy: "Attach it (`ip link set VETH master BRIDGE`) or recreate the pod.",
            inContract: true),
        Entry(
            code: .overlayFDBMissing, area: "trace",
            meaning: "An overlay device has no forwarding entry for the remote node.",
            decidedBy: "The bridge FDB of the VXLAN device for the remote VTEP's MAC.",
            remedy: "Restart the overlay agent (flanneld) so it reprograms the FDB.",
            inContract: true),
        Entry(
            code: .policyDenied, area: "trace",
            meaning:
                "A NetworkPolicy engine's rule dropped the probe: policies select the pod in that direction and none allowed this protocol and port from this peer (Kubernetes NetworkPolicy's default deny), or a rule of one policy denies it (Calico's Deny, a GlobalNetworkPolicy). On eBPF datapaths, their own policy drop: Cilium's 133 Policy denied or 181 Policy denied by denylist, Calico eBPF's Dropped by policy.",
            decidedBy:
                "The drop rule whose counter moved during the probe, read in the engine's own layout: Calico's endpoint chains (cali-tw-/cali-fw-<veth>, \"End of tier … Drop if no policies passed packet\", the cali-pi-/cali-po- policy chains and their identity comments, reached directly or, from felix 3.28, through the policy group chains cali-gi-/cali-go- that hold consecutive policies of one selector), kube-router's pod chains (KUBE-POD-FW-…, \"<ns>/<name> policy\" jumps, \"<ns>/<pod> reject\"); iptables or nftables. On Cilium, its drop counters (cilium_metrics) or Hubble's flow, with the policy map entry that decided (the probe replayed) and the policies Hubble names; on Calico eBPF, its per-interface counters (cali_countersN).",
            remedy:
                "Add an allow rule for this peer, protocol and port to one of the selecting policies (or remove the denying rule); `netdoctor policy POD` lists what selects the pod.",
            inContract: false),
        Entry(
            code: .policyICMPOnly, area: "trace",
            meaning:
                "An ICMP probe passed, but NetworkPolicies select the destination (or the source's egress): policy engines may accept ICMP where TCP and UDP are denied (kube-router accepts echo requests for every pod), so the pass says nothing about the application's port.",
            decidedBy: "A reachable trace without --port, and the policy engine's chains on the path's nodes selecting the pods.",
            remedy: "Trace again with the application's --port (and --protocol).",
            inContract: false),
        Entry(
            code: .policyEngineDown, area: "trace",
            meaning:
                "A userspace policy engine (kube-network-policies) sends the new connections of pods it enforces to an NFQUEUE, and nothing listens on that queue: the kernel drops every one of them (its rules have no bypass).",
            decidedBy:
                "The engine's queue rules (its nftables table, or iptables NFQUEUE rules) naming the probe's pod, and /proc/net/netfilter/nfnetlink_queue without a line for that queue.",
            remedy:
                "Start the engine again (its DaemonSet's pod on this node); with FailOpen (bypass) the kernel would let the packets through unjudged instead.",
            inContract: false),
        Entry(
            code: .addressTentative, area: "trace, inspect",
            meaning:
                "An IPv6 address on the path is still tentative: duplicate address detection has not finished (about a second after it was added, longer with DAD retransmits), so the kernel neither sends from it nor answers neighbour solicitations for it. A pod gateway in this state does not answer NDP; an application binding to the pod address fails with EADDRNOTAVAIL.",
            decidedBy:
                "IFA_F_TENTATIVE (IFA_FLAGS) on the address, read over rtnetlink in each namespace on the path: the source and destination pods' addresses and the addresses of every interface the path crosses (inspect: every IPv6 address of the namespace).",
            remedy:
                "Wait for DAD to finish and trace again; CNI plugins disable DAD on pod interfaces (accept_dad=0, or IFA_F_NODAD) because of this delay.",
            inContract: false),
        Entry(
            code: .addressDADFailed, area: "trace, inspect",
            meaning:
                "Duplicate address detection failed for an IPv6 address on the path: another interface on the segment answered for it, and the kernel will not use it (it stays on the interface, flagged dadfailed, never usable).",
            decidedBy:
                "IFA_F_DADFAILED on the address in the namespace's address dump (the kernel sets it when a neighbour advertisement or solicitation for the tentative address arrives).",
            remedy:
                "Find who else holds the address on that segment (a leftover namespace, a stale IPAM allocation), remove it, then delete and re-add the address (or recreate the pod).",
            inContract: false),
        Entry(
            code: .addressDeprecated, area: "trace, inspect",
            meaning:
                "An IPv6 address on the path is deprecated: its preferred lifetime ran out, and the kernel chooses it as a source only when nothing else fits; new connections from it may fail or go out from another address.",
            decidedBy: "IFA_F_DEPRECATED on the address in the namespace's address dump.",
            remedy:
                "Renew the address (the router advertisement or DHCPv6 that gave it), or give it a preferred lifetime of forever if it is static.",
            inContract: false),
        Entry(
            code: .ipv6RAIgnored, area: "trace, inspect",
            meaning:
                "IPv6 forwarding is on and the uplink's accept_ra is 1: Linux then ignores router advertisements, so the default route they gave expires and is not renewed (CNIs turn forwarding on; the node loses its IPv6 default route minutes later).",
            decidedBy:
                "net.ipv6.conf.IFACE.forwarding and accept_ra read in the node's namespace, for every interface that holds a default route learned by RA (proto ra) or an address learned by SLAAC (a finite valid lifetime, not permanent); the route's remaining lifetime from RTA_CACHEINFO. Once the route has expired nothing of it is left (cilium/cilium#21819, k3s-io/k3s#5019): then forwarding on, accept_ra 1 on an uplink with a global IPv6 address (where routes leave through a gateway, or an overlay's underlay) and no IPv6 default route at all say it, an error where a router is in its neighbour table (the kernel records the advertiser even while ignoring it), else a warning.",
            remedy:
                "sysctl -w net.ipv6.conf.IFACE.accept_ra=2 (accept RAs even while forwarding) and persist it; with networkd, IPv6AcceptRA=yes does so.",
            inContract: false),
        Entry(
            code: .watchProbeFailed, area: "incidents",
            meaning:
                "A watching agent's probe failed and no trace explained it: the peer's agent did not answer its health check, or the trace could not run. (A failure a trace explained is reported by the trace's own code.)",
            decidedBy: "agent --watch: GET /healthz of the peer's agent without an answer in the timeout; or a trace that threw.",
            remedy:
                "Check the peer node and its agent (kubectl -n netdoctor get pods -o wide; its logs); then `netdoctor trace` by hand from a pod of this node.",
            inContract: false),
        Entry(
            code: .ruleTraceFailed, area: "trace",
            meaning:
                "trace --trace-rules could not trace the rules the probe met in a namespace (nft missing, no privileges, a kernel without nf_tables), or its tracing table could not be removed afterwards.",
            decidedBy: "Adding netdoctor's own table (nft) and joining the nf_tables trace group; deleting the table after the probe.",
            remedy: "Run as root with nft installed; a table left behind is named in the finding with the command that removes it.",
            inContract: false),
        Entry(
            code: .firewallDrop, area: "trace",
            meaning: "An iptables/nftables rule dropped or rejected the probe.",
            decidedBy: "Per-rule packet counters before and after the probe, in each namespace on the path.",
            remedy: "Fix or remove the rule named in the evidence (table, chain, rule).",
            inContract: true),
        Entry(
            code: .duplicateIP, area: "trace",
            meaning: "Two interfaces answer for the same IP on one segment.",
            decidedBy:
                "One ARP probe for the destination pod's address on its bridge, as `arping -D` sends it (sender 0.0.0.0, so no neighbour cache learns from it): a reply from a MAC other than the pod's interface's. The node's bridge FDB names the port that MAC is behind; no other namespace is read.",
            remedy: "Release the duplicate (IPAM leak, a static address).",
            inContract: true),
        Entry(
            code: .mtuMismatch, area: "trace, mtu-probe",
            meaning: "An interface MTU on the path is larger than the path MTU.",
            decidedBy: "Interface MTUs compared with the measured path MTU.",
            remedy: "Lower the pod MTU to the path MTU in the CNI's configuration.",
            inContract: true),
        Entry(
            code: .pmtuBlackhole, area: "trace, mtu-probe",
            meaning: "Large packets vanish and no ICMP \"fragmentation needed\" (IPv6: ICMPv6 \"packet too big\") comes back.",
            decidedBy: "DF probes by bisection: sizes above N get neither a reply nor an ICMP error.",
            remedy:
                "Allow ICMP type 3 code 4 through (IPv6: ICMPv6 type 2, which IPv6 cannot do without), and lower the pod MTU to the path MTU.",
            inContract: true),
        Entry(
            code: .probeNoAnswer, area: "mtu-probe",
            meaning:
                "The destination answered no probe of any size, or answered with an ICMP error other than \"fragmentation needed\": the path MTU cannot be measured.",
            decidedBy:
                "UDP probes to a closed port get neither ICMP port unreachable nor a reply, from the largest size down to 576 bytes.",
            remedy:
                "Check reachability first (netdoctor trace); the destination must answer UDP to a closed port with ICMP port unreachable.",
            inContract: false),
        Entry(
            code: .captureDropped, area: "capture, trace",
            meaning:
                "The kernel dropped packets at a capture point before netdoctor read them (its buffer was full), or a point stopped capturing.",
            decidedBy: "pcap_stats after the capture; a capture thread that ended early.",
            remedy: "Narrow the filter or capture fewer points at once; check that the interface still exists.",
            inContract: false),
        Entry(
            code: .firewallUnreadable, area: "trace",
            meaning:
                "Neither iptables-save nor nft could be run in a namespace on the path (not installed, or failing): a rule dropping the probe there would go unnamed.",
            decidedBy: "iptables-save -c and nft -j list ruleset, run inside the namespace before the probe: both missing or failing.",
            remedy:
                "Install iptables (and nftables) where netdoctor runs (in the agent's image for cluster mode), or read that namespace's rules by hand.",
            inContract: false),
        Entry(
            code: .runtimeUnreachable, area: "every command that names a pod; detect-cni",
            meaning:
                "The container runtime was not asked over CRI (no socket under --root, e.g. a DaemonSet without the socket mounted), or did not answer (refused, hung, answered garbage): pods come from libcni's result cache alone, which may still name pods that are gone.",
            decidedBy:
                "The endpoint is --runtime-endpoint / NETDOCTOR_RUNTIME_ENDPOINT, else the kubelet's containerRuntimeEndpoint (--container-runtime-endpoint), else the first default socket present (containerd, CRI-O, cri-dockerd), under --root. netdoctor calls Version, ListPodSandbox and PodSandboxStatus (read-only) within one time budget (3 s). A note (info) when there is no socket, a warning when a socket is there and did not answer.",
            remedy:
                "Mount the runtime's socket under --root or give --runtime-endpoint; check the runtime with crictl version when its socket does not answer.",
            inContract: false),
        Entry(
            code: .podCacheStale, area: "detect-cni, every command that names a pod",
            meaning:
                "libcni's result cache holds entries for sandboxes the runtime does not run (deleted, or stopped and not ready): they describe pods that are gone, and their addresses may still be held by IPAM.",
            decidedBy:
                "Each cache entry's containerId is looked up among the runtime's sandboxes (ListPodSandbox); an entry whose sandbox is missing or not ready is stale. Such pods are left out: naming one says it is stale.",
            remedy:
                "Remove the entries (and the host-local IPAM files under var/lib/cni/networks) of sandboxes that crictl pods does not list; find why the runtime's teardown (CNI DEL) failed.",
            inContract: false),
        Entry(
            code: .podCacheMissing, area: "detect-cni, every command that names a pod",
            meaning:
                "A ready pod sandbox with its own network has no libcni cache entry: its namespace and IPs are known from the runtime, not which network and interface its CNI gave it.",
            decidedBy:
                "A ready sandbox (ListPodSandbox, PodSandboxStatus) with a network namespace or IPs whose ID names no cache entry. Host-network pods (no namespace, no IP) are not counted.",
            remedy:
                "Expected with runtimes or CNIs that keep no libcni cache; otherwise the cache dir was cleaned while pods ran (recreate the pods to restore it).",
            inContract: false),
        Entry(
            code: .podSourcesDisagree, area: "detect-cni, every command that names a pod",
            meaning:
                "The runtime and libcni's cache name different addresses or a different network namespace for the same sandbox; netdoctor follows the runtime.",
            decidedBy:
                "For each sandbox both know: the runtime's primary IP (PodSandboxStatus network.ip) must be among the cached IPs, and the runtime's namespace path among the cache's (its netns, or its interfaces' sandbox). Separately, a pod's namespace that does not hold the pod's address stops every command with exit 3, never a guess.",
            remedy: "Recreate the pod if its network misbehaves; report the CNI if it changes pods after ADD.",
            inContract: false),
        Entry(
            code: .agentUnreachable, area: "trace, mtu-probe, check --probe",
            meaning:
                "The remote node's netdoctor agent could not be asked (not running, refused the token, failed TLS, or stopped answering mid-trace): the remote half of the path is not seen, and the verdict is this node's alone. From check --probe: a peer node's agent did not answer its health check.",
            decidedBy:
                "The HTTP/JSON call to the agent at the remote node's address (the overlay FDB entry or the route's gateway), or at --agent; check --probe: GET /healthz of each node the routes name.",
            remedy:
                "Start the agent there (deploy/ DaemonSet, or lab up --agents), check the token and CA, or name it with --agent ADDR:PORT.",
            inContract: false),
        Entry(
            code: .collectionFailed, area: "trace, mtu-probe, agent",
            meaning:
                "netdoctor could not gather a fact on the path (the kernel refused a route lookup, a namespace vanished or could not be opened): what depends on it is not judged, rather than judged as a network fault.",
            decidedBy:
                "A route lookup answered with an error that is not the network's answer (EINVAL outside a forwarding decision, EPERM, a timeout, a reply that does not parse), or a namespace on the path that could not be opened or read.",
            remedy:
                "Run as root on the node (or in the agent's pod with hostNetwork and CAP_NET_ADMIN) and trace again; the evidence names what was not read.",
            inContract: false),
        Entry(
            code: .serviceNoEndpoints, area: "services, trace",
            meaning:
                "kube-proxy has no ready endpoint for this Service port: new connections to it are rejected (TCP reset or ICMP port unreachable) or, in IPVS mode, go nowhere.",
            decidedBy:
                "kube-proxy's own rules on this node: the filter-table REJECT commented \"<ns/svc:port> has no endpoints\" (iptables mode), the Service's element in the `no-endpoint-services` or `no-endpoint-nodeports` map (nftables mode). An error when the command names the Service, a warning in a listing (a Service scaled to zero is often meant).",
            remedy:
                "Check that the Service's selector matches ready pods (kubectl get endpointslices -l kubernetes.io/service-name=NAME): pods failing readiness, a selector typo, or a targetPort the pods do not expose leave it empty.",
            inContract: false),
        Entry(
            code: .serviceNoLocalEndpoints, area: "services, trace",
            meaning:
                "The Service has `externalTrafficPolicy: Local` and no endpoint on this node: traffic arriving here from outside the cluster (NodePort, external or load-balancer IP) is dropped; traffic from pods still reaches endpoints elsewhere.",
            decidedBy:
                "The filter-table DROP commented \"<ns/svc:port> has no local endpoints\" (iptables mode), a `drop` element for it in `no-endpoint-nodeports`/`no-endpoint-services` (nftables mode).",
            remedy:
                "Expected on nodes without the Service's pods: point the load balancer's health checks at the health-check node port so it skips this node, or schedule a pod here, or use `externalTrafficPolicy: Cluster` if the client source address need not be kept.",
            inContract: false),
        Entry(
            code: .serviceNotProgrammed, area: "services, trace",
            meaning:
                "The Service (or the address and port asked) is in none of kube-proxy's rules on this node: packets to it are not translated and go wherever the routing table sends them. kube-proxy is down, has not synced, runs in another mode than the rules read, or its rules were flushed.",
            decidedBy:
                "The Service table read from this node in the proxy mode kube-proxy reports (`/proxyMode` on 127.0.0.1:10249) or the kernel's state shows: no entry has that name, or no frontend that address, port and protocol. Also raised when no proxy state exists at all.",
            remedy:
                "Check kube-proxy on this node (its pod's logs, `curl 127.0.0.1:10249/proxyMode`, its sync metrics) and that the Service exists with that port; rules flushed by hand come back at kube-proxy's next sync.",
            inContract: false),
        Entry(
            code: .serviceRulesUnreadable, area: "services, trace",
            meaning:
                "kube-proxy's state could not be read, whole or in part (the tool failed, a mode netdoctor does not read yet, rules kube-proxy would not write): what depends on it is not judged.",
            decidedBy:
                "iptables-save or nft failing (also iptables-save refusing a table that holds a rule written by nft itself: \"Table `nat' is incompatible\"), IPVS or Cilium's kube-proxy replacement (not read yet), or rules whose comments, targets or chains do not follow kube-proxy's layout; the evidence names each.",
            remedy:
                "Run as root on the node; for IPVS use `ipvsadm -Ln`, for Cilium `cilium-dbg service list` until netdoctor reads them. A table iptables cannot print holds a rule another tool added with nft: find it with `nft list table ip nat` and remove it (kube-proxy's own rules come back at its next sync).",
            inContract: false),
        Entry(
            code: .endpointUnreachable, area: "trace",
            meaning:
                "kube-proxy sends the Service's traffic to this endpoint (DNAT is fine), and the endpoint does not answer on its target port: the clients whose connections land there fail.",
            decidedBy:
                "A trace from the source pod straight to each endpoint of the Service on its target port (every endpoint, not only the one the kernel picked for the probe), with the path checks at every hop; the endpoint's own trace names the hop and the reason beside this finding.",
            remedy:
                "Follow the endpoint trace's finding (a firewall drop, a missing route, a pod that does not listen on the targetPort); if the pod is not ready it should not be an endpoint: check its readiness probe.",
            inContract: false),
        Entry(
            code: .staleConntrack, area: "services, trace",
            meaning:
                "A UDP conntrack entry still sends a Service's traffic to an address that is no longer one of its endpoints: packets of that flow (same source port: DNS clients, statsd, syslog) go on to a pod that is gone, until the entry times out, which steady traffic never lets it do. An error when an entry is a live flow (assured, and refreshed within the last minute): that flow is blackholed now; a warning when the entries only wait to expire.",
            decidedBy:
                "kube-proxy's own cleanup rule (pkg/proxy/conntrack CleanStaleEntries), evaluated read-only: a UDP entry in this node's conntrack table (ctnetlink dump) whose original destination is a Service's address and port (or whose port is a node port) and whose reply source is none of that Service port's endpoints in the rules read now. Live: the entry's ASSURED bit (it saw replies) and a timeout within 60 s of the UDP stream timeout (120 s by default), which every packet of the flow resets.",
            remedy:
                "Delete the entries (`conntrack -D -p udp --orig-dst SERVICE-IP --reply-src OLD-ENDPOINT`); kube-proxy does this itself from 1.32 (conntrack reconciler): check its version and logs, and `kubeproxy_conntrack_reconciler_deleted_entries_total`.",
            inContract: false),
        Entry(
            code: .conntrackFailures, area: "services",
            meaning:
                "The conntrack table has refused or dropped packets since boot: `insert_failed` (two packets of a new flow raced: parallel A and AAAA lookups from one socket, the 5-second DNS stall), `drop` (the table was full), `early_drop` (entries evicted to make room).",
            decidedBy:
                "The per-CPU counters of ctnetlink's IPCTNL_MSG_CT_GET_STATS_CPU (what `conntrack -S` prints), summed over CPUs; any of the three above zero.",
            remedy:
                "insert_failed: use `options single-request-reopen` (glibc) in pods' resolv.conf, TCP for DNS, or NodeLocal DNSCache; drop/early_drop: raise net.netfilter.nf_conntrack_max and check `nf_conntrack_count`.",
            inContract: false),
        Entry(
            code: .masqueradeMissing, area: "services, trace",
            meaning:
                "kube-proxy's masquerade step is not in place: traffic it marks for SNAT (a pod reaching itself through its Service, clients from outside the cluster through a node port) leaves with its original source, and the replies take a path the connection does not expect.",
            decidedBy:
                "The rules read: iptables mode needs a MASQUERADE rule in nat KUBE-POSTROUTING, a jump to it from POSTROUTING and the MARK rule of KUBE-MARK-MASQ; nftables mode needs the `masquerade` statement in chain masquerading and the jump to it from nat-postrouting. Also kube-proxy's /configz: its internal configuration type with Go field names, the cluster CIDRs at ClusterCIDR (before 1.31) or DetectLocal.ClusterCIDRs (1.31 on), masquerade-all at IPTables.MasqueradeAll or Linux.MasqueradeAll; a ClusterCIDR detector with none is a warning naming the shape seen, a shape with neither field is not judged.",
            remedy:
                "kube-proxy writes these at every sync: check that it runs and syncs (its logs, sync metrics); rules deleted by hand or by another tool come back at its next sync, unless that tool deletes them again.",
            inContract: false),
        Entry(
            code: .hairpinDisabled, area: "trace",
            meaning:
                "The source pod is an endpoint of the Service it calls, and its port on the bridge has hairpin off: a connection the kernel sends back to the pod itself must leave the bridge by the port it came in on, which the bridge refuses, so that share of the pod's connections to its own Service fails.",
            decidedBy:
                "The Service's endpoints (kube-proxy's rules) include the source pod's address, and its host-side veth is a bridge port whose hairpin_mode (/sys/class/net/VETH/brport/hairpin_mode) is 0.",
            remedy:
                "Set hairpin on the pod's bridge port (`bridge link set dev VETH hairpin on`) and make it stick: the bridge CNI plugin's \"hairpinMode\": true, or the kubelet's hairpin-mode for other setups.",
            inContract: false),
        Entry(
            code: .proxyStale, area: "services, trace",
            meaning:
                "kube-proxy's rules on this node are not current: a change (a new endpoint, a removed one) has waited for a sync, or no sync has succeeded for minutes, or writing the rules has failed: what the rules say may no longer be what the API server says.",
            decidedBy:
                "kube-proxy's own metrics on 127.0.0.1:10249/metrics: kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds later than …_last_timestamp_seconds by more than 60 s, the last sync older than 5 minutes (kube-proxy syncs every 30 s by default), or …_iptables_restore_failures_total / …_nftables_sync_failures_total above zero (a warning). Only where kube-proxy answers.",
            remedy:
                "Read kube-proxy's log on this node (a failing iptables-restore or nft says why: a rule another tool holds, a lock, a kernel without a needed module); restart it if it is stuck.",
            inContract: false),
        Entry(
            code: .ipamExhausted, area: "check",
            meaning:
                "An IPAM pool the pod network allocates from is full (error: the next pod fails with \"no IP addresses available in range set\") or at least 90% used (warning).",
            decidedBy:
                "host-local: the reservation files in its data dir (<dataDir>/<network name>/, one per address) against the range set's addresses, with host-local's defaults (the gateway excluded), flannel's pool from subnet.env; Azure CNI: the in-use addresses of /var/run/azure-vnet-ipam.json against the pool's secondary IPs (AWS's pool size is ipamd's, live: not judged).",
            remedy: "Release leaked addresses (IPAM_LEAKED), then give the node a larger range or admit fewer pods (maxPods).",
            inContract: false),
        Entry(
            code: .ipamLeaked, area: "check",
            meaning:
                "The IPAM (host-local, Azure CNI, AWS VPC CNI's ipamd) holds addresses for containers that neither the runtime nor libcni's cache knows: a CNI DEL never ran (a node crash, a killed runtime), and the addresses are lost to new pods.",
            decidedBy:
                "Each reservation's container ID (host-local's files, Azure's in-use records of v1.1.8+, ipamd's checkpoint allocations) against every sandbox the runtime lists (any state) and every container in libcni's result cache; not judged when the runtime did not answer.",
            remedy:
                "Confirm each container is gone (`crictl inspectp ID`), then remove its reservation file; never while a pod is being created.",
            inContract: false),
        Entry(
            code: .ipamRangeTooSmall, area: "check",
            meaning: "A host-local range set has fewer addresses than the pods the kubelet admits (maxPods): pods past it get no address.",
            decidedBy:
                "The range set's addresses (host-local's defaults, the gateway excluded) against the kubelet's maxPods (110 when its config does not say).",
            remedy: "Give the node a pod range at least as large as maxPods, or lower maxPods.",
            inContract: false),
        Entry(
            code: .runtimeNetworkNotReady, area: "check",
            meaning:
                "The container runtime reports NetworkReady=false: it cannot load a CNI network, so no new pod gets one and the node is NotReady.",
            decidedBy:
                "The runtime's conditions from CRI Status, as it words them (reason NetworkPluginNotReady, \"cni plugin not initialized\").",
            remedy: "Fix what the configuration findings name; the runtime turns ready once a loadable network config is in its conf dir.",
            inContract: false),
        Entry(
            code: .sandboxNetworkFailed, area: "check",
            meaning:
                "Pods' sandboxes failed to get a network recently (\"failed to setup network for sandbox\"): one finding per cause, in the CNI plugin's words, with how many, when and which pods.",
            decidedBy:
                "The runtime's and the kubelet's log lines of the last hour: the systemd journal (journalctl -o json, bounded in time, lines, bytes and seconds), else the runtime's log file (k3s's containerd.log, --runtime-log); a sandbox logged by both counted once.",
            remedy: "Fix the cause the plugin names (the other findings often say it); the kubelet retries the pods by itself.",
            inContract: false),
        Entry(
            code: .bridgeAddressMismatch, area: "check",
            meaning:
                "The CNI bridge carries an address other than the pod network's gateway: the bridge plugin fails every new pod (\"cni0 already has an IP address different from …\"), typically after the node's pod subnet changed.",
            decidedBy:
                "The bridge's addresses (rtnetlink) against the gateway/length the bridge plugin would set (isGateway, host-local's gateway, flannel's FLANNEL_SUBNET), as the plugin compares them (any other IPv4 address; an overlapping IPv6 one).",
            remedy: "Once no pod uses it, delete the bridge and let the plugin recreate it; or fix the config if the bridge is right.",
            inContract: false),
        Entry(
            code: .flannelSubnetMissing, area: "check",
            meaning:
                "The active network is flannel's, and its subnet.env is missing or lacks FLANNEL_NETWORK/FLANNEL_SUBNET: every new pod fails.",
            decidedBy: "The conf's subnetFile (default /run/flannel/subnet.env) under --root.",
            remedy: "Check flannel's daemon on this node: it writes the file once it holds the node's lease.",
            inContract: false),
        Entry(
            code: .brNetfilterDisabled, area: "check",
            meaning:
                "Pods are bridge ports and kube-proxy uses iptables, nftables or IPVS, but br_netfilter is not loaded or bridge-nf-call-ip(6)tables is 0: same-node Service traffic (DNS, often) skips kube-proxy's DNAT.",
            decidedBy:
                "/proc/sys/net/bridge/bridge-nf-call-ip(6)tables in the node's namespace, the node's bridges with veth ports, kube-proxy's mode.",
            remedy: "modprobe br_netfilter; sysctl net.bridge.bridge-nf-call-iptables=1 (and -ip6tables); persist both.",
            inContract: false),
        Entry(
            code: .conntrackTableFull, area: "check",
            meaning: "The conntrack table is full (error: new connections are dropped) or at least 90% full (warning).",
            decidedBy: "net.netfilter.nf_conntrack_count against nf_conntrack_max; the per-CPU drop and early_drop counters as evidence.",
            remedy: "Raise nf_conntrack_max (kube-proxy's conntrack.maxPerCore), and find what opens the connections.",
            inContract: false),
        Entry(
            code: .neighborTableFull, area: "check",
            meaning:
                "A neighbour table (ARP, IPv6 NDISC) overflowed (\"neighbor table overflow!\", table_fulls above 0) and is still past gc_thresh2 or near gc_thresh3 (error), or holds at least 90% of gc_thresh3 entries (warning). An overflow since boot with the table below its limits now is told as info.",
            decidedBy:
                "rtnetlink's neighbour tables (RTM_GETNEIGHTBL, as `ip -s ntable` asks: entries, table_fulls, gc_thresh1/2/3, in any namespace), else /proc/net/stat/arp_cache and ndisc_cache with net.ipv4/ipv6.neigh.default.gc_thresh2/3 (initial namespace only); entries counts permanent ones too, so near the limit is a warning.",
            remedy: "Raise gc_thresh1/2/3 in the initial namespace and persist them.",
            inContract: false),
        Entry(
            code: .nodePortRangeOverlap, area: "check",
            meaning:
                "NodePorts lie inside the node's ephemeral port range and are not reserved: a client socket may take one first (warning, for ports kube-proxy programmed; info when only the default range 30000-32767 overlaps).",
            decidedBy: "net.ipv4.ip_local_port_range and ip_local_reserved_ports against the NodePorts in kube-proxy's rules.",
            remedy: "net.ipv4.ip_local_reserved_ports=30000-32767 (the cluster's NodePort range), persisted.",
            inContract: false),
        Entry(
            code: .overlayWrongUnderlay, area: "check",
            meaning:
                "A VXLAN device (flannel.1, vxlan.calico, …) sends from an address or is bound to an interface the node does not reach its peers by: the second-NIC VM whose overlay took the NAT interface.",
            decidedBy:
                "The device's local address and link (rtnetlink) against the kernel's route to each remote VTEP its forwarding entries name (the interface and source it picks).",
            remedy:
                "Bind the CNI's overlay to the node-to-node interface (flannel --iface, Calico IP_AUTODETECTION_METHOD, Cilium --devices).",
            inContract: false),
        Entry(
            code: .rpFilterStrict, area: "check",
            meaning:
                "Strict reverse-path filtering (rp_filter 1) drops a pod's packets where they enter the node: the node's route back to the pod's address leaves by another interface than the one they came in by.",
            decidedBy:
                "For each pod's IPv4 address: the interface its packets enter by (its host veth, or the bridge that veth is a port of), the larger of net.ipv4.conf.all.rp_filter and that interface's, and the kernel's route to the address.",
            remedy:
                "Delete a wrong route back to the pod (a leftover of an earlier CNI), or set rp_filter to 2 (loose) where the CNI routes so on purpose.",
            inContract: false),
        Entry(
            code: .linkManagedByHost, area: "check",
            meaning:
                "systemd-networkd applies a .network file to a CNI link (error when it matches by a pattern, warning when it names the link), or NetworkManager activates a profile of its own on one: they strip the CNI's addresses and routes, run DHCP on veths, take devices down. Or systemd-udevd replaced a CNI link's MAC with MACAddressPolicy=persistent's after the CNI created it (error for an overlay's VTEP, whose MAC peers learned; warning for a veth or bridge).",
            decidedBy:
                "For the node's live CNI links (cni*, cali*, veth*, flannel.*, vxlan.calico, lxc*, cilium_*, …): /run/systemd/netif/links/IFINDEX (ADMIN_STATE, NETWORK_FILE and its [Match] Name=) and /run/NetworkManager/devices/IFINDEX (managed, connection-uuid) with the profile's [.nmmeta] external (a link NM only observes is not a fault). udev: /run/udev/data/nIFINDEX's ID_NET_LINK_FILE (and _DROPINS) with MACAddressPolicy=persistent, and the link's MAC equal to the one that policy derives (SipHash-2-4 of /etc/machine-id and the link's name under systemd's key): any other MAC is not judged.",
            remedy:
                "Make the CNI's links unmanaged: Unmanaged=yes in a matching .network; NetworkManager's unmanaged-devices with interface-name: patterns; for udev, a .link file before 99-default.link matching the CNI's links (OriginalName=flannel* or Driver=veth) with MACAddressPolicy=none.",
            inContract: false),
        Entry(
            code: .labIncomplete, area: "lab",
            meaning:
                "The lab is not whole: a node's or pod's namespace, its runtime, the lab's server or an agent is missing, or namespaces are left without a lab state file.",
            decidedBy: "The lab state file compared with the namespaces under /run/netns and the processes it started (kill(pid, 0)).",
            remedy: "netdoctor lab down, then lab up.",
            inContract: false),
        Entry(
            code: .lostBeyondNode, area: "trace",
            meaning: "The request left this node for a remote node and nothing came back: the fault is past this node.",
            decidedBy: "Capture on the underlay shows the request leaving; no reply is seen.",
            remedy: "Run netdoctor on the remote node, as the evidence says.",
            inContract: true),
        Entry(
            code: .kernelDrop, area: "trace",
            meaning:
                "The kernel dropped the probe on this node for a reason of its own (NO_SOCKET, OTHERHOST, IP_INADDRERRORS, NEIGH_FAILED, …), at a place the finding names. As info: a drop of the probe in a namespace not on this node's part of the path.",
            decidedBy:
                "trace --drop-reasons: a BPF program on the skb:kfree_skb tracepoint, filtered in the kernel to the probe's packets, reports each drop's reason (named from the running kernel's BTF), the function that decided it (/proc/kallsyms), the device and its namespace.",
            remedy: "Depends on the reason, named as the kernel names it.",
            inContract: false),
        Entry(
            code: .rpFilterDrop, area: "trace",
            meaning:
                "Reverse-path filtering dropped the probe: the route back to its source leaves by another interface than the one it arrived on.",
            decidedBy:
                "trace --drop-reasons: the kernel's reason IP_RPFILTER where the packet arrived; the route back looked up in that namespace.",
            remedy: "Loose (2) or no reverse-path filtering on that interface and on all, or symmetric routes.",
            inContract: false),
        Entry(
            code: .bpfProgramDrop, area: "trace",
            meaning:
                "A BPF program attached to an interface on the path (tc, tcx, netkit or XDP) dropped the probe (error, with --drop-reasons); or, without it, the loss happened where such a program runs and nothing else explains it (warning).",
            decidedBy:
                "The kernel's reason TC_INGRESS, TC_EGRESS or XDP at an interface, with the programs attached there (tc filters over rtnetlink, XDP from the link, tcx and netkit by BPF_PROG_QUERY) and their owner where the name says.",
            remedy: "Ask the program's owner (Cilium: cilium-dbg monitor --type drop); bpftool prog show id N.",
            inContract: false),
        Entry(
            code: .ciliumDrop, area: "trace",
            meaning:
                "Cilium's datapath counted a drop while the probe was lost, for a reason other than its policy's (those are POLICY_DENIED): in Cilium's words (Missed tail call, No tunnel/encapsulation endpoint, Service backend not found, FIB lookup failed, …), the direction and, from 1.16, the datapath file and line. As info: counters that could not be read, or drops counted while the probe was answered (other traffic's).",
            decidedBy:
                "cilium_metrics (pinned under /sys/fs/bpf/tc/globals, a per-CPU hash) read before and after the probe on this node and, through its agent, on the destination's node, each counter summed over CPUs, its layout checked against the ones Cilium 1.14 to 1.18 write (docs/cilium.md); reasons 2 and 130 and above are drops, as Cilium's metrics map counts them. Where Hubble answers on the node (/var/run/cilium/hubble.sock), its flows of the probe are asked after a loss: its reason and the policies it names (1.18) come first, said as Hubble's; a drop Hubble alone reports is one too.",
            remedy: "Per reason: a policy to allow the traffic, a Service's endpoints, the node's routes; cilium-dbg monitor --type drop.",
            inContract: false),
        Entry(
            code: .ciliumEndpointNotReady, area: "inspect, trace",
            meaning:
                "On a Cilium node, a pod whose endpoint Cilium's datapath does not have as it must: no cilium_lxc entry for its address, an entry naming another device than its host-side veth, a veth without cil_from_container on its ingress (or, as a warning, with two: a stale attachment beside the current one), an empty slot in cilium_call_policy (its policy program), or an ipcache identity for its address other than its endpoint's (stale).",
            decidedBy:
                "cilium_lxc (pinned under /sys/fs/bpf/tc/globals; its layout checked, docs/cilium.md) looked up by the pod's addresses, against the pod's host-side veth and the programs attached to it (tc, tcx, netkit), the endpoint's cilium_call_policy slot and the ipcache's entries for its addresses.",
            remedy: "cilium-dbg endpoint list / endpoint regenerate; restart the pod or the agent if it stays so.",
            inContract: false),
        Entry(
            code: .dropReasonsUnavailable, area: "trace",
            meaning: "trace --drop-reasons could not read the kernel's drop reasons here, or some were not reported.",
            decidedBy:
                "libbpf missing, no kernel BTF, a kernel before 5.17 (no enum skb_drop_reason), no privileges, or the program's ring full.",
            remedy: "A kernel with BTF (5.17+), libbpf1, and root; the trace's verdict stands without them.",
            inContract: false),
        Entry(
            code: .replyMissing, area: "trace",
            meaning: "The request reached the destination, no reply left it.",
            decidedBy: "Capture at the destination's eth0 shows the request and no reply.",
            remedy: "Check the destination's own firewall and that it listens.",
            inContract: true),
        Entry(
            code: .portClosed, area: "trace",
            meaning: "The destination answered the TCP probe with a reset.",
            decidedBy: "A RST in reply to the SYN.",
            remedy: "Start the service or use the port it listens on.",
            inContract: true),
        Entry(
            code: .dnsServerUnreachable, area: "dns",
            meaning:
                "A nameserver of the pod's resolv.conf answers neither over UDP nor over TCP from the pod's network namespace: every lookup that reaches it waits out the resolver's timeout (5 s per try by default) before the next nameserver, or fails.",
            decidedBy:
                "Queries (A and AAAA, every name the search list makes) sent to the nameserver's port 53 from a socket inside the pod's namespace, over UDP and TCP: none answered (silence, ICMP unreachable, a reset). When the nameserver is a Service address, the node's Service table says which endpoints it has.",
            remedy:
                "If it is the cluster DNS Service: check its endpoints (`netdoctor services kube-system/kube-dns`) and trace to them (`netdoctor trace POD kube-system/kube-dns:dns`); a NetworkPolicy must allow egress to it on 53 UDP and TCP. Otherwise fix the address in the pod's dnsConfig or the kubelet's clusterDNS.",
            inContract: false),
        Entry(
            code: .dnsUDPBlocked, area: "dns",
            meaning:
                "The nameserver answers over TCP but not over UDP: resolvers ask over UDP, so lookups fail or wait out their timeout while the server is up.",
            decidedBy: "The same queries from the pod's namespace: every UDP one unanswered, at least one TCP one answered.",
            remedy:
                "Look for a firewall or NetworkPolicy that allows only TCP to port 53 (egress policies must list both UDP and TCP), a UDP conntrack entry left pointing at a dead endpoint (STALE_CONNTRACK: `conntrack -D -p udp --orig-dst <DNS IP>`), or a DNS server not listening on UDP.",
            inContract: false),
        Entry(
            code: .dnsNoAnswer, area: "dns",
            meaning:
                "Some of the pod's queries get no answer while others do: over TCP only (answers too large for UDP cannot be had), or one record type (AAAA or A) unanswered over UDP, so every lookup waits a timeout for it (glibc sends both and waits for both).",
            decidedBy:
                "The same queries from the pod's namespace: UDP answered and TCP not, or every query of one type silent while the other type answered.",
            remedy:
                "Allow TCP to port 53 as well as UDP; for an unanswered type, look at the upstream (a v4-only upstream that drops AAAA) or set `options single-request-reopen` or use NodeLocal DNSCache.",
            inContract: false),
        Entry(
            code: .dnsNXDomain, area: "dns",
            meaning:
                "The name does not resolve: every name the pod's search list makes of it (ndots decides the order) is NXDOMAIN or has no address record.",
            decidedBy:
                "The resolver's own walk (glibc res_search) over the answers the pod's nameservers gave: the queries are listed in the order the resolver sends them.",
            remedy:
                "Check the name: a Service is `<service>.<namespace>` (or `<service>.<namespace>.svc.<cluster domain>`); a short name resolves only in the pod's own namespace. For an external name, check the cluster DNS's upstream.",
            inContract: false),
        Entry(
            code: .dnsServerError, area: "dns",
            meaning:
                "A nameserver answers with an error rather than an answer (SERVFAIL, REFUSED, NOTIMP, FORMERR) or with bytes that are not a DNS answer; when no nameserver gives a usable answer the lookup fails.",
            decidedBy: "The response codes of the pod's queries, and the codec's verdict on bytes that do not parse.",
            remedy:
                "SERVFAIL: the DNS server's upstream or its plugins fail (CoreDNS logs). REFUSED: the server does not serve that zone or that client. Garbage: something else listens on port 53 at that address.",
            inContract: false),
        Entry(
            code: .dnsSlow, area: "dns",
            meaning:
                "A nameserver answered, but slower than the threshold (500 ms by default, `--slow`): lookups that chain several queries (the search list times A and AAAA) add up.",
            decidedBy:
                "The time from a query leaving the pod's socket to its answer, per query; the slowest one over the threshold is named.",
            remedy:
                "Look at the DNS server's load and upstream latency; NodeLocal DNSCache answers from the node; a lower ndots (or fully qualified names with a trailing dot) sends fewer queries.",
            inContract: false),
        Entry(
            code: .dnsConfigMismatch, area: "dns",
            meaning:
                "The pod's resolv.conf has the cluster's search list but not the kubelet's clusterDNS as nameservers (the pod predates a clusterDNS change, or its file was edited), or its search list does not start with its own namespace's Service domain.",
            decidedBy:
                "The pod's resolv.conf (where the runtime keeps it for the sandbox: containerd's CRI sandbox directory, CRI-O's userdata, cri-dockerd's container directory) against the kubelet's clusterDNS and clusterDomain (its config file and flags).",
            remedy: "Recreate the pod so the kubelet writes its resolv.conf again; check dnsPolicy and dnsConfig in its spec.",
            inContract: false),
        Entry(
            code: .dnsConfigInvalid, area: "dns",
            meaning:
                "The pod's resolv.conf names no nameserver (the resolver then asks 127.0.0.1 in the pod, where nothing listens), or has lines its resolver ignores (unknown keywords, a nameserver past the third, an address that is not one).",
            decidedBy: "The file read the way glibc reads it: keywords at the line's start, three nameservers at most.",
            remedy:
                "Fix the pod's dnsConfig (dnsPolicy None) or the node file it was copied from; Kubernetes passes at most three nameservers.",
            inContract: false),
        Entry(
            code: .dnsLoopRisk, area: "dns",
            meaning:
                "A loopback nameserver where it cannot work: in the pod's resolv.conf (nothing serves DNS on the pod's own loopback: a dnsPolicy Default pod on a node whose resolv.conf is systemd-resolved's stub 127.0.0.53), or in the file the kubelet hands such pods and CoreDNS forwards to (a forwarding loop: CoreDNS's loop plugin exits).",
            decidedBy:
                "The pod's resolv.conf, and the node's file at the kubelet's resolvConf path (default /etc/resolv.conf), for loopback nameserver addresses.",
            remedy:
                "Set the kubelet's resolvConf to /run/systemd/resolve/resolv.conf (the real upstreams) and recreate the affected pods; or give the pod dnsPolicy ClusterFirst.",
            inContract: false),
        Entry(
            code: .dnsConntrackRace, area: "dns",
            meaning:
                "The conntrack insert race: glibc sends A and AAAA at once from one UDP socket; both are DNATed to the DNS Service's endpoints and their conntrack entries clash, one is dropped, and the lookup waits the resolver's timeout (the \"5-second DNS delay\", K8S#56903).",
            decidedBy:
                "Rounds of A+AAAA pairs sent back to back from one socket in the pod's namespace to its first nameserver, with the node's per-CPU conntrack counters (ctnetlink, as `conntrack -S`) read before and after: insert_failed rose (an error when answers were also lost). clash_resolve rising means the kernel resolved clashes itself.",
            remedy:
                "`options single-request-reopen` (glibc) in the pod's dnsConfig, NodeLocal DNSCache (no DNAT, no conntrack for DNS), or TCP for DNS; kernels from 5.0 resolve most clashes (clash_resolve).",
            inContract: false),
        Entry(
            code: .nodeLocalDNSBroken, area: "dns",
            meaning:
                "NodeLocal DNSCache is in use for the pod (its link or its rules exist, or the pod's nameserver is a link-local 169.254 address) but a part is missing: the `nodelocaldns` link gone (its NOTRACK rules left behind make queries to the kube-dns address skip conntrack, so kube-proxy never translates them: they go nowhere), without the pod's nameserver address, or its addresses without their NOTRACK rule (the cache bypassed). The link being down is not a fault: node-cache never sets its dummy link up, and the kernel gives a down link's addresses their local routes all the same (kubernetes/dns#666); whether the cache answers is the lookup's to say.",
            decidedBy:
                "The node's links and addresses (rtnetlink) and its iptables rules (raw NOTRACK commented \"NodeLocal DNS Cache: skip conntrack\", filter ACCEPT \"NodeLocal DNS Cache: allow DNS traffic\"), against the pod's nameservers.",
            remedy:
                "Check the node-local-dns DaemonSet's pod on this node (its logs, `coredns_nodecache_setup_errors_total`); it recreates the link and rules every sync. If the DaemonSet was removed, delete the rules it left (`iptables -t raw -S | grep 'NodeLocal DNS Cache'`).",
            inContract: false),
    ]

    /// The catalogue as Markdown, for docs/findings.md.
    public static var markdown: String {
        var out = "# Finding catalogue\n\n"
        out += "Every code netdoctor reports. Codes marked *contract* are stable identifiers of the interface\n"
        out += "contract; the others are netdoctor's own additions, just as stable. This page is generated by\n"
        out += "`netdoctor explain --markdown`; a test fails when it differs.\n\n"
        out += "| code | command | contract |\n| --- | --- | --- |\n"
        for e in entries {
            out += "| [\(e.code)](#\(e.code.rawValue.lowercased())) | \(e.area) | \(e.inContract ? "contract" : "added") |\n"
        }
        for e in entries {
            out += "\n## \(e.code)\n\n"
            out += "**Means:** \(e.meaning)\n\n**Decided by:** \(e.decidedBy)\n\n"
            if let file = decidedIn[e.code] { out += "**Decided in:** `\(file)`\n\n" }
            out += "**What to do:** \(e.remedy)\n"
        }
        return out
    }
}

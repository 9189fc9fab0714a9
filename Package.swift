// swift-tools-version:6.0
import PackageDescription

// netdoctor: a thin executable over libraries with one job each.
//   ConfigFormats   JSON and TOML (with positions), systemd units and env files → one value tree (no dependency)
//   YAMLFormat      YAML (Yams) into that value tree: only what reads kubelet configs links Yams and Foundation
//   NodeFiles       the node's files under --root, read safely; the live kernel's uplink
//   Diagnosis       Finding, the finding catalogue, Report, human and JSON renderers
//   NetAddress      IP addresses, prefixes and link-layer addresses
//   NetlinkCodec    rtnetlink messages as bytes in, typed values out (no I/O)
//   NetSystem       namespaces (opened, identified), the namespace thread, sysctls, system errors
//   Netlink         the rtnetlink socket: dumps, lookups, sequence checks, extended acks
//   KernelState     one namespace's links, addresses, routes, neighbours, FDB and sysctls; namespaces found
//   CNIDetection    the runtime's and kubelet's view of CNI: detect-cni (the kubelet's config gives Pods the runtime's endpoint)
//   CRI             the container runtime's CRI API over its Unix socket (gRPC; Swift generated from cri-api's proto)
//   Pods            pods of this node: the runtime's sandboxes and libcni's result cache (its model is here), merged
//   PathFacts       a path's facts, gathered once: namespaces opened and read once (NamespaceHandle), the
//                   kernel's answers to route lookups (RouteOracle), one walker; live, recorded or replayed
//   Checks          pure checks over those facts: one file per finding code (family), for trace,
//                   inspect and the agent alike
//   Inspection      inspect: a namespace's view with names resolved, a pod's host side, its report
//   PathMTU         mtu-probe: DF probes by bisection, the error queue, interface MTUs along the path
//   Trace           trace: gather, judge, a probe captured at every hop, the verdict; the remote half
//   Session         NodeSession: what one command or agent request knows of the node, and the
//                   operations the CLI and the agent share
//   Capture         libpcap at several points in several namespaces at once, pcapng files, packet summaries
//   Firewall        iptables rules, chain policies and nftables rules with their packet counters, per namespace
//   Services        kube-proxy's Service table read back from the node: mode, frontends, endpoints (iptables, nftables)
//   DNS             a pod's DNS as the pod sees it: resolv.conf, the search list, the wire codec, lookups from its namespace
//   Agent           netdoctor agent: the node agent's HTTP/JSON API (auth, TLS, limits, metrics) over SwiftNIO
//   AgentClient     the caller's side of that API: trace and mtu-probe ask the remote node's agent
//   Watch           agent --watch: peers on a ring, probes at full MTU with DF, Prometheus metrics,
//                   incidents explained by a full trace
//   Lab             the two-node lab in namespaces, wired by the real CNI plugins, and its faults
//   NetdoctorCLI    argument parsing, global options, exit statuses
//   CNetShims       C: setns, CLONE_NEWNET, CMSG_*, netlink headers (no logic)
//   CPcap           libpcap, opened on the first capture (dlopen), not linked
let package = Package(
    name: "netdoctor",
    products: [
        .executable(name: "netdoctor", targets: ["netdoctor"]),
        .executable(name: "netdoctor-lab", targets: ["netdoctor-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "CNetShims"),
        .target(name: "CPcap"),
        .target(name: "CLibBPF"),
        .target(name: "CLabBPF"),
        .target(name: "ConfigFormats"),
        .target(name: "YAMLFormat", dependencies: ["ConfigFormats", "Yams"]),
        .target(name: "NodeFiles", dependencies: ["NetSystem"]),
        .target(name: "Diagnosis", dependencies: ["ConfigFormats"]),
        .target(name: "NetAddress"),
        .target(name: "NetlinkCodec", dependencies: ["NetAddress"]),
        .target(name: "NetSystem", dependencies: ["CNetShims"]),
        .target(name: "Netlink", dependencies: ["NetlinkCodec", "NetSystem", "CNetShims"]),
        // BPF on libbpf (opened on first use): programs, attach points, BTF, the drop-reason probe.
        .target(
            name: "BPF", dependencies: ["CLibBPF", "ConfigFormats", "NetAddress", "Netlink", "NetlinkCodec", "NetSystem", "NodeFiles"]),
        // Cilium's datapath read from its pinned maps, by the layouts each release writes.
        .target(name: "Cilium", dependencies: ["BPF", "NetAddress", "NodeFiles"]),
        .target(name: "KernelState", dependencies: ["Netlink", "NetlinkCodec", "NetSystem", "NetAddress", "NodeFiles"]),
        .target(
            name: "CNIDetection",
            dependencies: ["ConfigFormats", "NodeFiles", "Diagnosis", "NetAddress", "NetlinkCodec", "RuntimeModel", "YAMLFormat"]),
        // What the runtime and libcni say about pods, as data: no gRPC (CNIDetection needs these, not a CRI client).
        .target(name: "RuntimeModel", dependencies: ["ConfigFormats", "Diagnosis", "NetAddress", "NodeFiles"]),
        .target(
            name: "CRI",
            dependencies: [
                "ConfigFormats", "NetSystem", "NodeFiles", "RuntimeModel",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], exclude: ["Generated/README.md"]),
        // Calico's eBPF dataplane counters, read from the node.
        .target(name: "CalicoBPF", dependencies: ["BPF", "NodeFiles"]),
        // Hubble's Observer, the flows a trace asks Cilium for (generated code: scripts/gen-hubble).
        .target(
            name: "Hubble",
            dependencies: [
                "Cilium", "NetAddress", "NetSystem",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .target(
            name: "Pods",
            dependencies: ["ConfigFormats", "CRI", "Diagnosis", "KernelState", "NetAddress", "NetSystem", "NodeFiles", "RuntimeModel"]),
        .target(
            name: "Lab",
            dependencies: [
                "RuntimeModel", "CLabBPF", "CLibBPF", "CNetShims", "ConfigFormats", "CRI", "Diagnosis", "Hubble", "NetAddress", "Netlink",
                "NetlinkCodec", "NetSystem", "NodeFiles", "Pods", "Services",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .target(
            name: "PathFacts",
            dependencies: ["CNetShims", "KernelState", "NetAddress", "Netlink", "NetlinkCodec", "NetSystem", "NodeFiles", "Pods"]),
        .target(
            name: "Checks",
            dependencies: [
                "BPF", "CalicoBPF", "ConfigFormats", "Diagnosis", "Firewall", "KernelState", "NetAddress", "NetlinkCodec", "PathFacts",
            ]),
        .target(
            name: "Trace",
            dependencies: [
                "BPF", "CalicoBPF", "Capture", "Checks", "Cilium", "ConfigFormats", "Diagnosis", "Firewall", "Hubble", "KernelState",
                "NetAddress",
                "Netlink", "NetlinkCodec", "NetSystem", "PathFacts", "PathMTU", "Pods", "Services",
            ]),
        // The whole node judged (check): host-local's pools, the node's tables and bridges, pure checks over them.
        .target(
            name: "NodeCheck",
            dependencies: [
                "Checks", "CNIDetection", "ConfigFormats", "Diagnosis", "KernelState", "NetAddress", "NetlinkCodec", "NetSystem",
                "NodeFiles", "RuntimeModel",
            ]),
        .target(
            name: "Session",
            dependencies: [
                "CalicoBPF", "Capture", "Checks", "Cilium", "CNIDetection", "ConfigFormats", "CRI", "Diagnosis", "DNS", "Firewall",
                "Hubble",
                "Inspection",
                "KernelState", "NetAddress", "NetlinkCodec", "NetSystem", "NodeCheck", "NodeFiles", "PathFacts", "PathMTU", "Pods",
                "Policy", "RuntimeModel", "Services", "Trace",
            ]),
        .target(
            name: "Firewall",
            dependencies: ["CNetShims", "ConfigFormats", "NetAddress", "Netlink", "NetlinkCodec", "NetSystem", "NodeFiles"]),
        .target(name: "DNS", dependencies: ["ConfigFormats", "Diagnosis", "NetAddress", "NetlinkCodec", "NetSystem", "NodeFiles"]),
        .target(name: "Policy", dependencies: ["Checks", "Cilium", "ConfigFormats", "Diagnosis", "Firewall"]),
        .target(
            name: "Services",
            dependencies: [
                "Cilium",
                "CNetShims", "ConfigFormats", "Diagnosis", "Firewall", "NetAddress", "Netlink", "NetlinkCodec", "NetSystem", "NodeFiles",
            ]),
        .target(name: "Capture", dependencies: ["CPcap", "NetSystem", "KernelState", "NetAddress", "Diagnosis", "ConfigFormats"]),
        .target(
            name: "PathMTU",
            dependencies: [
                "CNetShims", "ConfigFormats", "Diagnosis", "Firewall", "KernelState", "NetAddress", "Netlink",
                "NetlinkCodec", "NetSystem", "PathFacts", "Pods",
            ]),
        .target(
            name: "Inspection",
            dependencies: [
                "BPF", "Checks", "Cilium", "ConfigFormats", "Diagnosis", "KernelState", "NetAddress", "NetlinkCodec", "NetSystem",
                "NodeFiles", "PathFacts", "Pods",
            ]),
        .target(
            name: "Agent",
            dependencies: [
                "Capture", "ConfigFormats", "Diagnosis", "Firewall", "KernelState", "NetAddress", "Netlink", "NetlinkCodec", "NetSystem",
                "NodeFiles",
                "PathFacts", "PathMTU", "Pods", "Session", "Trace",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "AgentClient",
            dependencies: [
                "Trace", "ConfigFormats", "Diagnosis", "NetAddress",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
        .target(
            name: "Watch",
            dependencies: [
                "Agent", "ConfigFormats", "Diagnosis", "KernelState", "NetAddress", "NetlinkCodec", "NetSystem",
                "NodeCheck", "PathFacts", "PathMTU", "Pods", "Session",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .target(
            name: "NetdoctorCLI",
            dependencies: [
                "Agent", "AgentClient", "Watch",
                "CNIDetection", "ConfigFormats", "Diagnosis", "NodeFiles", "KernelState", "Netlink", "NetlinkCodec", "NetSystem", "Pods",
                "PathMTU", "Services",
                "NetAddress", "Capture", "Session", "Trace",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // exports.map keeps the dynamic symbol table to the entry point (start-up: see the map).
        // The lab, apart from the product: `netdoctor lab` runs it when it is installed beside netdoctor.
        .executableTarget(
            name: "netdoctor-lab",
            dependencies: [
                "NetdoctorCLI", "Lab", "ConfigFormats", "Diagnosis", "NetAddress", "NetSystem", "NodeFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "netdoctor", dependencies: ["NetdoctorCLI", "CNetShims"], exclude: ["exports.map"],
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/netdoctor/exports.map"])]),
        // Built only by scripts/fuzz, with -sanitize=fuzzer; replays files when built plainly.
        .executableTarget(
            name: "ParserFuzzer",
            dependencies: [
                "BPF", "CalicoBPF", "Checks", "Cilium", "RuntimeModel", "ConfigFormats", "CNIDetection", "CRI", "Diagnosis", "DNS",
                "Firewall", "Hubble", "NetAddress",
                "NodeCheck", "NodeFiles", "NetlinkCodec", "PathFacts", "Pods", "Services", "Trace", "YAMLFormat",
            ]),
        // Throw-away node trees and repository paths, shared by the test targets.
        .target(name: "TestSupport", dependencies: ["NodeFiles", "ConfigFormats"], path: "Tests/TestSupport"),
        .testTarget(name: "ConfigFormatsTests", dependencies: ["ConfigFormats", "YAMLFormat"]),
        .testTarget(
            name: "FirewallTests",
            dependencies: ["Checks", "ConfigFormats", "Diagnosis", "Firewall", "NetAddress", "Policy", "TestSupport"], exclude: ["Fixtures"]
        ),
        // kube-proxy's rules (iptables-save, nft -j) as kube-proxy writes them and as the lab loads them.
        .testTarget(name: "DNSTests", dependencies: ["DNS", "Diagnosis", "NetAddress", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ServicesTests",
            dependencies: ["Cilium", "Diagnosis", "Services", "Firewall", "NetAddress", "NetlinkCodec", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "PathMTUTests", dependencies: ["PathMTU", "NetAddress"]),
        // check's readers and checks on recorded bytes (host-local's data dir as the plugin wrote it, /proc/net/stat).
        .testTarget(
            name: "NodeCheckTests",
            dependencies: [
                "CNIDetection", "ConfigFormats", "Diagnosis", "KernelState", "NetAddress", "NetlinkCodec", "NetSystem", "NodeCheck",
                "NodeFiles", "RuntimeModel", "TestSupport",
            ],
            exclude: ["Fixtures"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "NetAddress", "NodeFiles", "TestSupport"]),
        .testTarget(
            name: "BPFTests",
            dependencies: [
                "BPF", "CalicoBPF", "Checks", "Cilium", "ConfigFormats", "Diagnosis", "NetAddress", "NodeFiles", "PathFacts", "TestSupport",
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "HubbleTests",
            dependencies: [
                "Checks", "Cilium", "Diagnosis", "Hubble", "NetAddress", "NodeFiles", "TestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], exclude: ["Fixtures"]),
        .testTarget(name: "NetlinkCodecTests", dependencies: ["NetlinkCodec", "NetAddress", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "CNIDetectionTests",
            dependencies: ["RuntimeModel", "CNIDetection", "ConfigFormats", "Diagnosis", "NodeFiles", "Pods", "TestSupport"]),
        // The agent on loopback, unprivileged: authentication, TLS, limits, bad requests.
        .testTarget(
            name: "AgentTests", dependencies: ["AgentClient", "ConfigFormats", "Lab", "NodeFiles", "TestSupport", "Trace", "YAMLFormat"]),
        // Pods from libcni's cache (the shared corpus) and from the runtime (CRI answers recorded from the lab).
        .testTarget(
            name: "PodsTests", dependencies: ["RuntimeModel", "Pods", "CRI", "CNIDetection", "NodeFiles", "NetAddress", "TestSupport"],
            exclude: ["Fixtures"]),
        // trace's gathering and checks on facts recorded from the lab (scripts/record-path-facts), without root.
        .testTarget(
            name: "TraceChecksTests",
            dependencies: [
                "RuntimeModel", "Capture", "Checks", "CNIDetection", "ConfigFormats", "Diagnosis", "Firewall", "KernelState", "NetAddress",
                "Netlink", "NetlinkCodec", "NodeFiles", "PathFacts", "PathMTU", "Pods", "TestSupport", "Trace",
            ],
            exclude: ["Fixtures"]),
        .testTarget(name: "NetdoctorCLITests", dependencies: ["NodeFiles", "ConfigFormats", "TestSupport"]),
        .testTarget(name: "NetSystemTests", dependencies: ["NetSystem"]),
        .testTarget(
            name: "SessionTests",
            dependencies: [
                "CNIDetection", "ConfigFormats", "Diagnosis", "KernelState", "NetAddress", "NodeCheck", "PathFacts", "Pods", "Session",
                "TestSupport",
            ]),
        .testTarget(name: "WatchTests", dependencies: ["ConfigFormats", "NetAddress", "TestSupport", "Watch"]),
        // Real namespaces, veths, bridges, VXLAN and the CNI plugins: root only, and never skipped on CI.
        .testTarget(
            name: "PrivilegedTests",
            dependencies: ["BPF", "ConfigFormats", "NodeFiles", "NetSystem", "Netlink", "NetlinkCodec", "Services", "TestSupport"]),
    ]
)

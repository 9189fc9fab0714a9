// swift-tools-version:6.0
import PackageDescription

// netdoctor: a thin executable over libraries with one job each.
//   ConfigFormats   JSON and TOML (with positions), YAML, systemd units and env files → one value tree
//   NodeFiles       the node's files under --root, read safely; the live kernel's uplink
//   Diagnosis       Finding, the finding catalogue, Report, human and JSON renderers
//   CNIDetection    the runtime's and kubelet's view of CNI: detect-cni
//   NetdoctorCLI    argument parsing, global options, exit statuses
//   CNetShims       C: setns, CLONE_NEWNET, CMSG_*, netlink headers (no logic)
//   CPcap           libpcap, found through pkg-config
let package = Package(
    name: "netdoctor",
    products: [
        .executable(name: "netdoctor", targets: ["netdoctor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .target(name: "CNetShims"),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "ConfigFormats", dependencies: ["Yams"]),
        .target(name: "NodeFiles"),
        .target(name: "Diagnosis", dependencies: ["ConfigFormats"]),
        .target(name: "CNIDetection", dependencies: ["ConfigFormats", "NodeFiles", "Diagnosis"]),
        .target(name: "NetdoctorCLI", dependencies: [
            "CNIDetection", "Diagnosis", "NodeFiles",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "netdoctor", dependencies: ["NetdoctorCLI"]),
        // Built only by scripts/fuzz, with -sanitize=fuzzer; replays files when built plainly.
        .executableTarget(name: "ConfigFuzzer", dependencies: ["ConfigFormats", "CNIDetection", "NodeFiles"]),
        // Throw-away node trees and repository paths, shared by the test targets.
        .target(name: "TestSupport", dependencies: ["NodeFiles"], path: "Tests/TestSupport"),
        .testTarget(name: "ConfigFormatsTests", dependencies: ["ConfigFormats"]),
        .testTarget(name: "CNIDetectionTests", dependencies: ["CNIDetection", "ConfigFormats", "Diagnosis", "NodeFiles", "TestSupport"]),
        .testTarget(name: "NetdoctorCLITests", dependencies: ["Diagnosis", "NodeFiles", "ConfigFormats", "TestSupport"]),
    ]
)

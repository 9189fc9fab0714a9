/// A stable finding identifier (UPPER_SNAKE), as listed in the contract. Scripts match on it.
public struct FindingCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Its catalogue entry: meaning, how netdoctor decides it, what to do.
    public var entry: FindingCatalogue.Entry? { FindingCatalogue.entries.first { $0.code == self } }

    // Configuration (detect-cni)
    public static let cniNoConfig = FindingCode(rawValue: "CNI_NO_CONFIG")
    public static let cniConfigInvalid = FindingCode(rawValue: "CNI_CONFIG_INVALID")
    public static let cniVersionUnsupported = FindingCode(rawValue: "CNI_VERSION_UNSUPPORTED")
    public static let cniBinaryMissing = FindingCode(rawValue: "CNI_BINARY_MISSING")
    public static let cniMultipleConfigs = FindingCode(rawValue: "CNI_MULTIPLE_CONFIGS")
    public static let cniStaleConfig = FindingCode(rawValue: "CNI_STALE_CONFIG")
    public static let runtimeConfigInvalid = FindingCode(rawValue: "RUNTIME_CONFIG_INVALID")
    public static let kubeletConfigInvalid = FindingCode(rawValue: "KUBELET_CONFIG_INVALID")
    public static let cniMTUTooLarge = FindingCode(rawValue: "CNI_MTU_TOO_LARGE")
    // Configuration codes netdoctor adds to the contract's
    public static let cniMTUTooSmall = FindingCode(rawValue: "CNI_MTU_TOO_SMALL")
    public static let cniConfigIgnored = FindingCode(rawValue: "CNI_CONFIG_IGNORED")
    public static let cniTemplateUnrendered = FindingCode(rawValue: "CNI_TEMPLATE_UNRENDERED")
    public static let cniConfigSuspicious = FindingCode(rawValue: "CNI_CONFIG_SUSPICIOUS")
    public static let cniChainIncomplete = FindingCode(rawValue: "CNI_CHAIN_INCOMPLETE")
    public static let cniLoopbackOnly = FindingCode(rawValue: "CNI_LOOPBACK_ONLY")
    public static let runtimeConfigDeprecated = FindingCode(rawValue: "RUNTIME_CONFIG_DEPRECATED")
    public static let runtimeMismatch = FindingCode(rawValue: "RUNTIME_MISMATCH")
    public static let runtimeConfigSuspicious = FindingCode(rawValue: "RUNTIME_CONFIG_SUSPICIOUS")
    public static let cniConfTemplate = FindingCode(rawValue: "CNI_CONF_TEMPLATE")
    public static let cniDirsNonDefault = FindingCode(rawValue: "CNI_DIRS_NONDEFAULT")
    public static let kubeletFlagRemoved = FindingCode(rawValue: "KUBELET_FLAG_REMOVED")
    public static let kubeletConfigSuspicious = FindingCode(rawValue: "KUBELET_CONFIG_SUSPICIOUS")
    public static let nodeFileUnreadable = FindingCode(rawValue: "NODE_FILE_UNREADABLE")
    // Pods: the runtime (CRI) and libcni's cache
    public static let runtimeUnreachable = FindingCode(rawValue: "RUNTIME_UNREACHABLE")
    public static let podCacheStale = FindingCode(rawValue: "POD_CACHE_STALE")
    public static let podCacheMissing = FindingCode(rawValue: "POD_CACHE_MISSING")
    public static let podSourcesDisagree = FindingCode(rawValue: "POD_SOURCES_DISAGREE")
    // Path (inspect, trace, mtu-probe)
    public static let linkDown = FindingCode(rawValue: "LINK_DOWN")
    public static let noRoute = FindingCode(rawValue: "NO_ROUTE")
    public static let ipForwardDisabled = FindingCode(rawValue: "IP_FORWARD_DISABLED")
    public static let neighborFailed = FindingCode(rawValue: "NEIGHBOR_FAILED")
    public static let neighborMACMismatch = FindingCode(rawValue: "NEIGHBOR_MAC_MISMATCH")
    public static let bridgePortMissing = FindingCode(rawValue: "BRIDGE_PORT_MISSING")
    public static let overlayFDBMissing = FindingCode(rawValue: "OVERLAY_FDB_MISSING")
    public static let firewallDrop = FindingCode(rawValue: "FIREWALL_DROP")
    public static let duplicateIP = FindingCode(rawValue: "DUPLICATE_IP")
    public static let mtuMismatch = FindingCode(rawValue: "MTU_MISMATCH")
    public static let pmtuBlackhole = FindingCode(rawValue: "PMTU_BLACKHOLE")
    public static let lostBeyondNode = FindingCode(rawValue: "LOST_BEYOND_NODE")
    public static let replyMissing = FindingCode(rawValue: "REPLY_MISSING")
    public static let portClosed = FindingCode(rawValue: "PORT_CLOSED")
    public static let probeNoAnswer = FindingCode(rawValue: "PROBE_NO_ANSWER")
    public static let captureDropped = FindingCode(rawValue: "CAPTURE_DROPPED")
    public static let agentUnreachable = FindingCode(rawValue: "AGENT_UNREACHABLE")
    public static let firewallUnreadable = FindingCode(rawValue: "FIREWALL_UNREADABLE")
    public static let collectionFailed = FindingCode(rawValue: "COLLECTION_FAILED")
    // The lab's own bookkeeping (lab status)
    public static let labIncomplete = FindingCode(rawValue: "LAB_INCOMPLETE")
}

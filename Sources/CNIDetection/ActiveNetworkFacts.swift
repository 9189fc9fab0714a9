import NodeFiles

/// What the node says of the active network beyond its file, read once: the plugins its chain
/// needs that are not installed, another config whose plugins all are, the plugins' own answers
/// about its version, the MTU pods get, the uplink's. CNIDetector.judgeActive judges these;
/// nothing here judges.
struct ActiveNetworkFacts {
    var missing: [(type: String, outcome: BinaryLookup.Outcome)]
    /// With plugins missing: another loadable config, not loopback's, whose plugins are all there.
    var installedAlternative: ConfigFileReading?
    /// The chain's plugins that refuse its version (nil: not asked, or no version).
    var refusingVersion: (version: String, plugins: [RefusingPlugin])?
    var mtu: Sourced<Int>?
    /// The node file that should give the MTU and holds none.
    var notAnMTU: NodeMTU.NotAnMTU?
    var uplink: Sourced<Int>?

    static func read(
        _ active: ConfigFileReading, network: NetworkConfig, family: FamilyReading, readings: [ConfigFileReading],
        binaries: BinaryLookup, input: DetectionInput
    ) -> ActiveNetworkFacts {
        let missing = binaries.missing(BinaryLookup.requiredTypes(network, delegate: family.delegate?.types ?? []))
        let alternative =
            missing.isEmpty
            ? nil
            : readings.first { other in
                other.nodePath != active.nodePath && other.isLoadable
                    && other.network.map { binaries.missing(BinaryLookup.requiredTypes($0)).isEmpty } == true
                    && other.family?.family != "loopback"
            }
        let (mtu, notAnMTU) = NodeMTU.effective(family: family, root: input.root)
        let uplink =
            input.uplinkMTU.map { Sourced($0, "--uplink-mtu") } ?? input.kernel.uplink.map { Sourced($0.mtu, "\($0.device) on this node") }
        return ActiveNetworkFacts(
            missing: missing, installedAlternative: alternative,
            refusingVersion: input.queryPlugins ? PluginVersions.refusing(network, binaries: binaries) : nil,
            mtu: mtu, notAnMTU: notAnMTU, uplink: uplink)
    }
}

import Diagnosis
import NodeFiles

/// How the node's runtime loads the conf dir: containerd stops at the first broken file,
/// CRI-O skips broken files and files whose plugins are missing.
enum RuntimeLoad {
    struct Outcome {
        var active: ConfigFileReading?
        /// Networks the runtime loads, in order (containerd attaches the extra ones as eth1…).
        var loaded: [ConfigFileReading]
        var findings: [Finding]
    }

    static func simulate(runtime: RuntimeSettings, readings: [ConfigFileReading], binaries: BinaryLookup) -> Outcome {
        guard !readings.isEmpty else {
            return Outcome(active: nil, loaded: [], findings: [noConfig(runtime, "no .conf, .conflist or .json file is there")])
        }
        return runtime.name == .crio ? crio(runtime, readings, binaries) : containerd(runtime, readings)
    }

    static func containerd(_ runtime: RuntimeSettings, _ readings: [ConfigFileReading]) -> Outcome {
        var outcome = Outcome(active: nil, loaded: [], findings: [])
        let max = runtime.maxConfNum ?? 1
        var broken: ConfigFileReading? = nil
        var consulted = 0
        for reading in readings {
            consulted += 1
            if !reading.isLoadable { broken = reading; break }
            outcome.loaded.append(reading)
            if max > 0 && outcome.loaded.count == max { break }
        }
        let runtimeName = runtime.name == .unknown ? "the runtime (containerd's rules assumed)" : "containerd"
        if let broken {
            let finding = unloadable(
                broken, .error,
                "\(broken.fileName) cannot be loaded, and \(runtimeName) fails the whole CNI load on it: the node reports NetworkReady=false and no new pod starts."
            )
            outcome.findings.append(finding)
            outcome.findings += broken.problems.filter { $0.code != finding.code }.map(demoted)
            outcome.loaded = []
            return outcome
        }
        outcome.active = outcome.loaded.first
        // Broken files past the ones containerd reads do not matter today, but would after a change.
        for reading in readings.dropFirst(consulted) where !reading.isLoadable {
            outcome.findings.append(
                unloadable(
                    reading, .warning,
                    "\(reading.fileName) cannot be loaded; \(runtimeName) does not read it today (max_conf_num \(max)), but would fail on it if it sorted earlier or max_conf_num grew."
                ))
        }
        outcome.findings += multiple(
            runtime, readings, outcome.loaded, winner: outcome.active,
            reason: "it sorts first in libcni's byte order and max_conf_num is \(max)")
        return outcome
    }

    static func crio(_ runtime: RuntimeSettings, _ readings: [ConfigFileReading], _ binaries: BinaryLookup) -> Outcome {
        var outcome = Outcome(active: nil, loaded: [], findings: [])
        var names: Set<String> = []
        for reading in readings {
            guard reading.isLoadable, let network = reading.network else {
                outcome.findings.append(unloadable(reading, .warning, "\(reading.fileName) cannot be loaded; CRI-O skips it."))
                continue
            }
            // ocicni validates each list (plugin binaries present) and skips failures.
            let missing = binaries.missing(network.types)
            if !missing.isEmpty {
                outcome.findings.append(BinaryMissing.crioSkips(reading, missing: missing, binDirs: runtime.binDirs))
                continue
            }
            let name = network.name ?? ""
            if names.contains(name) { continue }  // the first file of a name wins
            names.insert(name)
            outcome.loaded.append(reading)
        }
        if let wanted = runtime.defaultNetwork {
            outcome.active = outcome.loaded.first { $0.network?.name == wanted }
            if outcome.active == nil {
                outcome.findings.append(noConfig(runtime, "cni_default_network is \"\(wanted)\", and no loadable file has that name"))
                return outcome
            }
        } else {
            outcome.active = outcome.loaded.first
        }
        guard let active = outcome.active else {
            outcome.findings.append(noConfig(runtime, "CRI-O skips every file there"))
            return outcome
        }
        let reason =
            runtime.defaultNetwork != nil ? "cni_default_network names it" : "it is the first file CRI-O can load, in libcni's byte order"
        outcome.findings += multiple(runtime, readings, outcome.loaded, winner: active, reason: reason)
        return outcome
    }

    /// CNI_MULTIPLE_CONFIGS when more than one pod network config competes; loopback configs
    /// and multus's own delegate are expected company.
    static func multiple(
        _ runtime: RuntimeSettings, _ readings: [ConfigFileReading], _ loaded: [ConfigFileReading],
        winner: ConfigFileReading?, reason: String
    ) -> [Finding] {
        guard let winner else { return [] }
        let delegateFile = winner.family?.delegate?.source
        var notes: [Finding] = []
        if let delegate = readings.first(where: { $0.fileName == delegateFile }) {
            notes.append(
                Finding(
                    .cniMultipleConfigs, .info,
                    "\(delegate.fileName) is not the runtime's pod network: multus (\(winner.fileName)) wins and delegates to it as its cluster network.",
                    hop: delegate.nodePath, evidence: ["clusterNetwork of \(winner.fileName): \(delegateFile!)"]))
        }
        let others = readings.filter {
            $0.nodePath != winner.nodePath && $0.family?.family != "loopback" && $0.fileName != delegateFile
                && $0.readError == nil && $0.network != nil
        }
        guard !others.isEmpty else { return notes }
        var evidence = ["\(winner.fileName) wins: \(reason)"]
        for other in others {
            var line = "\(other.fileName): \(other.family?.family ?? "unknown")"
            if let name = other.network?.name, name == winner.network?.name {
                line += ", same network name \"\(name)\": shadowed"
            } else if loaded.contains(where: { $0.nodePath == other.nodePath }) {
                line += ", also loaded as an extra network"
            } else {
                line += ", not used"
            }
            evidence.append(line)
        }
        let families = Set(others.compactMap { $0.family?.family } + [winner.family?.family ?? ""])
        return notes + [
            Finding(
                .cniMultipleConfigs, families.count > 1 ? .warning : .info,
                "\(readings.count) network configs in \(runtime.confDir); \(winner.fileName) is the pod network.",
                hop: runtime.confDir, evidence: evidence,
                remedy: "Remove the configs of CNIs no longer in use\(runtime.name == .crio ? ", or set cni_default_network" : "").")
        ]
    }

    static func noConfig(_ runtime: RuntimeSettings, _ why: String) -> Finding { NoConfig.nothingUsable(runtime, why) }

    /// What the runtime does with a file it cannot load, said as the load's finding: the code,
    /// place, evidence and remedy of the file's own problem (invalid, or unreadable), the
    /// severity and message of what that means for this runtime.
    static func unloadable(_ reading: ConfigFileReading, _ severity: Severity, _ message: String) -> Finding {
        let problem =
            reading.problems.first { $0.code == .cniConfigInvalid || $0.code == .nodeFileUnreadable }
            ?? ConfigInvalid.cannotBeLoaded(reading.nodePath)
        return Finding(problem.code, severity, message, hop: problem.hop, evidence: problem.evidence, remedy: problem.remedy)
    }

    /// A problem of a file that is not the pod network any more matters less.
    static func demoted(_ finding: Finding) -> Finding {
        guard finding.severity == .error else { return finding }
        return Finding(finding.code, .warning, finding.message, hop: finding.hop, evidence: finding.evidence, remedy: finding.remedy)
    }
}

import ConfigFormats
import Diagnosis

/// Any command's report, with where the pods it names came from (the runtime or libcni's
/// cache, their namespaces) and the notes that go with that (a runtime that did not answer,
/// the sources disagreeing about these pods). The command's own verdict and exit status stand.
public struct PodSourcedReport<Base: Report>: Report {
    public var base: Base
    public var pods: [Pod]
    public var notes: [Finding]

    public init(_ base: Base, pods: [Pod], directory: PodDirectory) {
        self.base = base
        self.pods = pods
        notes = directory.notes(about: pods)
    }

    public var command: String { base.command }
    public var findings: [Finding] { base.findings + notes }
    public var exitStatus: Int32 { max(base.exitStatus, notes.contains { $0.severity == .error } ? 1 : 0) }

    public var jsonFields: [(String, ConfigValue)] {
        base.jsonFields + [("pods", .array(pods.map(\.sourceJSON)))]
    }

    public func humanSections(style: TextStyle) -> [HumanSection] {
        let sections = base.humanSections(style: style)
        guard !pods.isEmpty else { return sections }
        return sections + [
            HumanSection(
                "Pods named",
                rows: pods.map { pod in
                    (
                        pod.fullName,
                        "from \(pod.sourceDescription); sandbox \(pod.containerID.prefix(13)); netns \(pod.netnsPath ?? "not recorded")"
                    )
                })
        ]
    }
}

extension Pod {
    /// Who the pod is and where netdoctor learned it, for every command's JSON.
    public var sourceJSON: ConfigValue {
        .fields([
            "name": .string(fullName), "sandboxID": .string(containerID), "source": .string(source.rawValue),
            "runtime": .text(runtime.map { "\($0.name) \($0.version)" }), "netns": .text(netnsPath),
            "interface": .string(primaryInterface), "addresses": .texts(addresses.map(\.description)),
            "networks": .texts(attachments.map { "\($0.networkName ?? "?")/\($0.ifName ?? "?")" }),
        ])
    }
}

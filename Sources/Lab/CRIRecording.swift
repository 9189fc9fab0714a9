import CRI
import NodeFiles

extension Lab {
    /// Writes node1's containerd's answers (Version, ListPodSandbox, each PodSandboxStatus) as the
    /// protobuf bytes it sent, for the unit tests to read back (scripts/record-cri-fixtures).
    public func recordRuntimeAnswers(into directory: String) throws(LabError) -> [String] {
        let endpoint = NodeRuntime(plan: plan, node: plan.nodes[0]).endpoint
        let answers: RuntimeAnswers
        do {
            answers = try RuntimeClient.answers(endpoint)
        } catch {
            throw LabError("node1's containerd: \(error)")
        }
        var files: [(String, [UInt8])] = []
        do {
            files.append(("version.bin", try answers.version.serializedBytes()))
            files.append(("list.bin", try answers.list.serializedBytes()))
            for (i, status) in answers.statuses.enumerated() { files.append(("status-\(i).bin", try status.serializedBytes())) }
        } catch {
            throw LabError("cannot encode the answers: \(error)")
        }
        FileTree.makeDirectories(directory)
        for (name, bytes) in files where !FileTree.write("\(directory)/\(name)", bytes: bytes) {
            throw LabError("cannot write \(directory)/\(name)")
        }
        return files.map(\.0)
    }
}

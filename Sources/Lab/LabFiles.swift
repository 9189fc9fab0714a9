import NodeFiles

/// The lab's files: node trees under /var/lib/netdoctor-lab.
enum LabFiles {
    static func write(_ path: String, _ text: String, mode: UInt32 = 0o644) throws(LabError) {
        guard FileTree.write(path, bytes: Array(text.utf8), mode: mode) else { throw LabError("cannot write \(path)") }
    }

    static func read(_ path: String) -> String? { try? NodeRoot("/").readText(path) }

    static func exists(_ path: String) -> Bool { NodeRoot("/").status(path) != nil }
}

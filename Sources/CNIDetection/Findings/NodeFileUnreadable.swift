import Diagnosis
import NodeFiles

/// NODE_FILE_UNREADABLE, built here only: a node file or directory that is there but cannot be
/// read (permissions, not a regular file, too large). A missing file is the reader's own code.
enum NodeFileUnreadable {
    static func confDir(_ directory: String, _ error: NodeFileError) -> Finding {
        Finding(
            .nodeFileUnreadable, .error, "The CNI conf dir \(directory) cannot be listed.",
            hop: directory, evidence: [error.description],
            remedy: error.reason == .permissionDenied ? "Run netdoctor as root." : "Check the directory.")
    }

    static func configFile(_ nodePath: String, _ error: String) -> Finding {
        Finding(
            .nodeFileUnreadable, .error, "\(nodePath) cannot be read.", hop: nodePath, evidence: [error],
            remedy: "Run as root, or fix the file.")
    }

    /// `what`: the file as a sentence names it ("containerd config").
    static func file(_ error: NodeFileError, what: String) -> Finding {
        Finding(
            .nodeFileUnreadable, .error, "The \(what) \(error.path) cannot be read.", hop: error.path, evidence: [error.description],
            remedy: error.reason == .permissionDenied
                ? "Run netdoctor as root." : "Check the file; netdoctor reads regular files up to 1 MiB.")
    }
}

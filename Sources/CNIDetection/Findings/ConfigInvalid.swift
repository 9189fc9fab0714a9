import ConfigFormats
import Diagnosis

/// CNI_CONFIG_INVALID, built here only: a conf dir file libcni cannot load, a value the plugin
/// itself refuses, a node file that gives pods an MTU that is no MTU. The readers say when.
enum ConfigInvalid {
    static func notLoadable(_ file: String, _ error: LoadError) -> Finding {
        let position = error.position.map { "\(file):\($0.line):\($0.column): " } ?? "\(file): "
        return Finding(
            .cniConfigInvalid, .error, "\(file) is not a configuration libcni can load.",
            hop: file, evidence: [position + error.message],
            remedy: error.position.map { "Fix the JSON at line \($0.line), column \($0.column)." }
                ?? "Add what libcni requires (a network name, a plugin type, a non-empty plugins list).")
    }

    /// A file the load refused with no problem of its own recorded.
    static func cannotBeLoaded(_ nodePath: String) -> Finding {
        Finding(.cniConfigInvalid, .error, "\(nodePath) cannot be loaded.", hop: nodePath)
    }

    static func refusedByPlugin(_ label: String, _ problem: PluginRules.Problem, file: String) -> Finding {
        Finding(
            .cniConfigInvalid, .error,
            "\(label) in \(file) is refused by the plugin itself: every pod sandbox on this node fails at ADD.",
            hop: file,
            evidence: ["\(file)\(problem.line > 0 ? ":\(problem.line)" : ""): \(problem.text)", "the plugin's rule: \(problem.rule)"],
            remedy: "Correct the value at that line; libcni loads the file, so nothing else reports it until pods fail.")
    }

    static func notAnMTU(_ text: String, source: String, key: String) -> Finding {
        Finding(
            .cniConfigInvalid, .error,
            "\(source) gives pods an MTU that is no MTU: the CNI sets up every pod with it, or fails.",
            hop: source,
            evidence: [
                "\(source): \(key)\(Printable.line(text.trimmingCharacters(), limit: 80))", "an MTU is a whole number from 68 to 65535",
            ],
            remedy: "Fix or remove the file; the CNI's daemon writes it when it starts (restart it).")
    }
}

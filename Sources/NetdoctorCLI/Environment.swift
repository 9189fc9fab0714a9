import NetSystem
#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// An environment variable's value; nil when unset or empty.
func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
}

/// This binary's own path, to run it again inside a namespace.
func selfPath() -> String { Executable.path }

import NetSystem
import Testing

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension PrivilegedSuite {
    @Suite("Privileged: the namespace thread")
    struct NamespaceThreadTests {
        @Test("many callers at once, sync and async: each job runs in the namespace and the thread comes back")
        func concurrentCallers() async throws {
            try Privilege.require()
            _ = try sh(["ip", "netns", "add", "ndtest-thread"])
            defer { _ = try? sh(["ip", "netns", "del", "ndtest-thread"]) }
            let target = try NetNamespace(path: "/var/run/netns/ndtest-thread")
            let home = try NetNamespace.current().identity
            let thread = NamespaceThread()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        let seen: NetNamespace.Identity
                        if i % 2 == 0 {
                            seen = try await thread.perform(in: target) { try NetNamespace.current().identity }
                        } else {
                            seen = try thread.run(in: target) { try NetNamespace.current().identity }
                        }
                        #expect(seen == target.identity)
                    }
                }
                try await group.waitForAll()
            }
            // The calling thread never moved.
            #expect(try NetNamespace.current().identity == home)
            // A namespace that is gone: a clean error, not a crash.
            #expect(throws: SystemError.self) { try NetNamespace(path: "/var/run/netns/ndtest-no-such") }
        }
    }
}

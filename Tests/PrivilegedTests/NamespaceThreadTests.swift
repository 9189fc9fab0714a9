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

        /// The calling thread's /proc entry ("PID/task/TID"), to look at it from another thread.
        static func threadPath() -> String {
            var buffer = [CChar](repeating: 0, count: 64)
            let length = readlink("/proc/thread-self", &buffer, buffer.count - 1)
            return length > 0 ? String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "self"
        }

        @Test(
            "one visit through several namespaces: each body runs in its own, one that cannot be entered fails alone, the thread comes home"
        )
        func runEach() throws {
            try Privilege.require()
            let names = ["ndtest-each-a", "ndtest-each-b", "ndtest-each-c"]
            for name in names { _ = try sh(["ip", "netns", "add", name]) }
            defer { for name in names { _ = try? sh(["ip", "netns", "del", name]) } }
            let targets = try names.map { try NetNamespace(path: "/var/run/netns/\($0)") }
            let home = try NetNamespace.current().identity
            let thread = NamespaceThread()
            let results = try thread.runEach(in: targets) { index in (index, try NetNamespace.current().identity, Self.threadPath()) }
            #expect(results.count == 3)
            var worker = ""
            for (index, result) in results.enumerated() {
                let (ran, seen, tid) = try result.get()
                #expect(ran == index)
                #expect(seen == targets[index].identity)
                worker = tid
            }
            // The worker is back in the namespace it started in once the visit is over.
            var status = stat()
            #expect(stat("/proc/\(worker)/ns/net", &status) == 0)
            #expect(UInt64(status.st_ino) == home.inode)
            // One that cannot be entered (its descriptor now /dev/null's): it fails, the others run.
            let broken = try NetNamespace(path: "/var/run/netns/\(names[1])")
            let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
            #expect(dup2(null, broken.fd) == broken.fd)
            close(null)
            let mixed = try thread.runEach(in: [targets[0], broken, targets[2]]) { _ in try NetNamespace.current().identity }
            #expect((try? mixed[0].get()) == targets[0].identity)
            #expect((try? mixed[1].get()) == nil)
            #expect((try? mixed[2].get()) == targets[2].identity)
        }
    }
}

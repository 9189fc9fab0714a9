import ConfigFormats
import NodeFiles
import TestSupport
import Testing

/// The lab built with the real CNI plugins, and `inspect` checked against iproute2 on every pod
/// and node. One suite, serialized: the lab is one per machine.
extension PrivilegedSuite {
    @Suite("Privileged: lab and inspect")
    struct LabInspectTests {
        static let pods = ["pod-a", "pod-b", "pod-c"]

        @Test("inspect agrees with ip -j on every pod and node", arguments: ["overlay", "routed"])
        func inspectAgreesWithIP(topology: String) throws {
            try Privilege.require()
            let up = try Binary.run(["lab", "up", "--topology", topology, "-o", "json"], timeout: 120_000)
            #expect(up.status == 0, "\(up.errorText)")
            defer { _ = try? Binary.run(["lab", "down"]) }

            for node in ["node1", "node2"] {
                let report = try inspect(node: node, target: "node")
                try compare(report, namespace: "ndlab-\(node)")
            }
            for pod in Self.pods {
                let node = pod == "pod-c" ? "node2" : "node1"
                let report = try inspect(node: node, target: pod)
                let netns = try labPod(pod).netns
                try compare(report, namespace: netns)
                // The pod's eth0 peer is its host-side veth, in the node's namespace.
                let eth0 = try #require(report["interfaces"]?.array?.first { $0["name"]?.string == "eth0" })
                let host = try #require(report["hostSide"]?["interface"])
                #expect(eth0["peer"]?["namespace"]?.string == "node")
                #expect(eth0["peer"]?["interface"]?.string == host["name"]?.string)
                #expect(host["peer"]?["namespace"]?.string == netns)
                if topology == "overlay" {
                    #expect(host["master"]?.string == "cni0")
                    #expect(report["hostSide"]?["bridge"]?["name"]?.string == "cni0")
                } else {
                    #expect(report["hostSide"]?["routes"]?.array?.isEmpty == false)
                }
            }
        }

        func inspect(node: String, target: String) throws -> ConfigValue {
            let result = try Binary.run(["lab", "exec", node, "--", "netdoctor", "inspect", target, "-o", "json"])
            #expect(result.status == 0, "inspect \(target) on \(node): \(result.errorText)")
            return try JSONParser.parse(bytes: result.output)
        }

        /// Interfaces, addresses, routes (both families, main table) and neighbours, field by field.
        func compare(_ report: ConfigValue, namespace: String) throws {
            let links = try JSONParser.parse(try sh(["ip", "-n", namespace, "-j", "-d", "link", "show"])).array ?? []
            let addresses = try JSONParser.parse(try sh(["ip", "-n", namespace, "-j", "addr", "show"])).array ?? []
            let interfaces = report["interfaces"]?.array ?? []
            #expect(interfaces.count == links.count, "\(namespace): \(interfaces.count) interfaces, ip shows \(links.count)")
            for link in links {
                let name = link["ifname"]?.string ?? ""
                guard let mine = interfaces.first(where: { $0["name"]?.string == name }) else {
                    Issue.record("\(namespace): \(name) missing from inspect")
                    continue
                }
                #expect(mine["index"]?.int == link["ifindex"]?.int, "\(namespace) \(name) index")
                #expect(mine["mtu"]?.int == link["mtu"]?.int, "\(namespace) \(name) mtu")
                let up = link["flags"]?.array?.contains(.string("UP")) ?? false
                #expect(mine["up"]?.bool == up, "\(namespace) \(name) up")
                #expect(mine["operState"]?.string == link["operstate"]?.string, "\(namespace) \(name) operstate")
                #expect(mine["master"]?.string == link["master"]?.string, "\(namespace) \(name) master")
                if let kind = link["linkinfo"]?["info_kind"]?.string {
                    #expect(mine["kind"]?.string == kind, "\(namespace) \(name) kind")
                }
                #expect(mine["mac"]?.string == link["address"]?.string || link["link_type"]?.string == "none", "\(namespace) \(name) mac")
                let expected = (addresses.first { $0["ifname"]?.string == name }?["addr_info"]?.array ?? []).compactMap { info -> String? in
                    guard let local = info["local"]?.string, let length = info["prefixlen"]?.int else { return nil }
                    return "\(local)/\(length)"
                }
                #expect(Set(mine["addresses"]?.array?.compactMap(\.string) ?? []) == Set(expected), "\(namespace) \(name) addresses")
                if link["link_netnsid"] != nil { #expect(mine["peer"] != .null, "\(namespace) \(name) peer") }
            }

            var ipRoutes = Set<String>()
            for family in ["-4", "-6"] {
                for route in try JSONParser.parse(try sh(["ip", family, "-n", namespace, "-j", "route", "show"])).array ?? [] {
                    ipRoutes.insert(
                        "\(route["dst"]?.string ?? "") via \(route["gateway"]?.string ?? "-") dev \(route["dev"]?.string ?? "-")")
                }
            }
            let mine = Set(
                (report["routes"]?.array ?? []).map {
                    "\($0["destination"]?.string ?? "") via \($0["gateway"]?.string ?? "-") dev \($0["interface"]?.string ?? "-")"
                })
            #expect(mine == ipRoutes, "\(namespace) routes: netdoctor \(mine.subtracting(ipRoutes)), ip \(ipRoutes.subtracting(mine))")

            let ipNeighbors = Set(
                (try JSONParser.parse(try sh(["ip", "-n", namespace, "-j", "neigh", "show"])).array ?? []).map {
                    "\($0["dst"]?.string ?? "") dev \($0["dev"]?.string ?? "") \($0["lladdr"]?.string ?? "-")"
                })
            let myNeighbors = Set(
                (report["neighbors"]?.array ?? []).map {
                    "\($0["address"]?.string ?? "") dev \($0["interface"]?.string ?? "") \($0["lladdr"]?.string ?? "-")"
                })
            // Entries come and go (IPv6 neighbour discovery): what both saw must agree.
            for entry in myNeighbors.intersection(ipNeighbors) { _ = entry }
            let stableMine = myNeighbors.filter { !$0.hasPrefix("fe80") && !$0.hasPrefix("ff02") }
            let stableIP = ipNeighbors.filter { !$0.hasPrefix("fe80") && !$0.hasPrefix("ff02") }
            #expect(
                stableMine.isSubset(of: stableIP) || stableIP.isSubset(of: stableMine),
                "\(namespace) neighbours: \(stableMine) vs \(stableIP)")
        }

        @Test("lab up then lab down leaves no namespace, link, file, mount, cgroup or process (containerd, shim, pause) behind")
        func cleanTeardown() throws {
            try Privilege.require()
            let before = try sh(["ip", "-o", "link", "show"]).split(separator: "\n").count
            let namespacesBefore = try sh(["ip", "netns", "list"])
            let start = Clock.now()
            let up = try Binary.run(["lab", "up"], timeout: 120_000)
            #expect(up.status == 0, "\(up.errorText)")
            #expect(Clock.now() - start < 15, "lab up took \(Clock.now() - start) s")
            let podA = try labPod("pod-a")
            #expect(podA.netns.hasPrefix("cni-"), "containerd names pod namespaces cni-…: \(podA.netns)")
            #expect(try sh(["ip", "netns", "list"]).contains(podA.netns))
            #expect(try sh(["ps", "-eo", "args"]).contains("containerd-shim-runc-v2"))
            let down = try Binary.run(["lab", "down"])
            #expect(down.status == 0, "\(down.errorText)")
            #expect(try sh(["ip", "netns", "list"]) == namespacesBefore)
            let processes = try sh(["ps", "-eo", "stat=,args="]).split(separator: "\n").filter { !$0.hasPrefix("Z") }
            #expect(!processes.contains { $0.contains("containerd") || $0.hasSuffix("/pause") }, "\(processes)")
            #expect(!(try sh(["cat", "/proc/self/mountinfo"]).contains("netdoctor-lab")))
            #expect(try sh(["find", "/sys/fs/cgroup", "-maxdepth", "2", "-name", "ndlab-*"]).isEmpty)

            #expect(try sh(["ip", "-o", "link", "show"]).split(separator: "\n").count == before)
            #expect(NodeRoot("/").status("/var/lib/netdoctor-lab") == nil)
            #expect(!(try sh(["ps", "-eo", "args"]).contains("lab serve")))
        }

        @Test("bad input: unknown and ambiguous pods (2), a stale namespace and missing privileges (3)")
        func badInput() throws {
            try Privilege.require()
            _ = try Binary.run(["lab", "up"], timeout: 120_000)
            defer { _ = try? Binary.run(["lab", "down"]) }

            let unknown = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "no-such-pod"])
            #expect(unknown.status == 2)
            #expect(unknown.errorText.contains("no pod no-such-pod") && unknown.errorText.contains("default/pod-a"))

            // A second pod-a in another Kubernetes namespace makes the bare name ambiguous.
            let results = "/var/lib/netdoctor-lab/node1/var/lib/cni/results"
            let entry = try #require((try? NodeRoot("/").list(results))?.first { $0.name.contains("lab-overlay") })
            let text = try NodeRoot("/").readText(entry.nodePath)
            let copy = text.replacingAll("\"default\"", "\"other\"").replacingAll("/var/run/netns/cni-", "/var/run/netns/cni-gone-")
                .replacingAll(String(entry.name.split(separator: "-")[2]), "feedface")
            FileTree.write(results + "/lab-overlay-feedface-eth0", bytes: Array(copy.utf8))
            let ambiguousName = try podNameOf(text)
            // The runtime runs no sandbox "feedface": the copy is a stale entry, named as such.
            let onlyCached = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "other/\(ambiguousName)"])
            #expect(onlyCached.status == 2, "\(onlyCached.errorText)")
            #expect(onlyCached.errorText.contains("only in libcni's result cache"))
            // The cache alone (no runtime socket) cannot tell: ambiguous, and the copy's namespace is gone.
            let cacheOnly = ["--runtime-endpoint", "unix:///nonexistent.sock"]
            let ambiguous = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", ambiguousName] + cacheOnly)
            #expect(ambiguous.status == 2, "\(ambiguous.errorText)")
            #expect(ambiguous.errorText.contains("other/\(ambiguousName)"))
            let qualified = try Binary.run(
                ["lab", "exec", "node1", "--", "netdoctor", "inspect", "default/\(ambiguousName)", "-o", "json"] + cacheOnly)
            #expect(qualified.status == 0)
            // The copy's namespace does not exist: a stale cache entry.
            let stale = try Binary.run(["lab", "exec", "node1", "--", "netdoctor", "inspect", "other/\(ambiguousName)"] + cacheOnly)
            #expect(stale.status == 3)
            #expect(stale.errorText.contains("is gone"))

            // Without privileges: one line, exit 3.
            let unprivileged = try Binary.run([
                "lab", "exec", "node1", "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", Binary.path, "inspect", "default/pod-b",
            ])
            #expect(unprivileged.status == 3, "\(unprivileged.status) \(unprivileged.errorText)")
            #expect(unprivileged.errorText.split(separator: "\n").count == 1)
        }

        func podNameOf(_ cache: String) throws -> String {
            let value = try JSONParser.parse(cache)
            let args = value["cniArgs"]?.array ?? []
            return try #require(args.first { $0.array?.first?.string == "K8S_POD_NAME" }?.array?.last?.string)
        }
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

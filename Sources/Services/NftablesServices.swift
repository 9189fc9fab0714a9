import ConfigFormats
import NetAddress

/// kube-proxy's nftables mode, read back from `nft -j list table ip kube-proxy` (and `ip6`): the
/// verdict maps `service-ips` (address . protocol . port → goto a service's chain) and
/// `service-nodeports` (protocol . port), the maps of ports with no endpoints (each element's
/// comment names the service port), and per-port chains whose names carry the names:
/// `service-<HASH8>-ns/svc/proto/port`, `local-…`, `external-…`, and
/// `endpoint-<HASH8>-ns/svc/proto/port__ip/port` (whose `dnat to` rule is the truth: long names
/// are truncated with "…"). Spread is `numgen random mod N vmap { 0 : goto endpoint-…, … }`.
public enum NftablesServices {
    /// The service table from one or more `nft -j list table` documents (one per family).
    /// Each document is one table (`ip kube-proxy`, `ip6 kube-proxy`): each family's proxier
    /// names its chains alike, so each is read on its own and the entries put side by side.
    public static func table(fromJSON documents: [[UInt8]]) -> ServiceTable {
        var tables: [ServiceTable] = []
        for document in documents {
            var reader = Reader()
            do {
                reader.load(try JSONParser.parse(bytes: document))
            } catch {
                reader.problems.append("nft's JSON could not be read: \(error)")
            }
            tables.append(reader.table())
        }
        guard var table = tables.first else { return Reader().table() }
        for other in tables.dropFirst() {
            table.entries += other.entries
            table.problems += other.problems
        }
        return table
    }

    struct Reader {
        /// Each chain's rules' expressions.
        var chains: [String: [[ConfigValue]]] = [:]
        /// Verdict maps' elements: (key parts, element comment, verdict target or verdict word).
        var maps: [String: [(key: [ConfigValue], comment: String?, verdict: String)]] = [:]
        var problems: [String] = []

        mutating func load(_ document: ConfigValue) {
            guard let items = document["nftables"]?.array else {
                problems.append("nft's JSON has no \"nftables\" list")
                return
            }
            for item in items {
                if let chain = item["chain"], let name = chain["name"]?.string {
                    if chains[name] == nil { chains[name] = [] }
                } else if let rule = item["rule"], let chain = rule["chain"]?.string, let expressions = rule["expr"]?.array {
                    chains[chain, default: []].append(expressions)
                } else if let map = item["map"], let name = map["name"]?.string {
                    maps[name] = (map["elem"]?.array ?? []).compactMap(Self.element)
                }
            }
        }

        /// `[key, verdict]`, the key bare or `{"elem": {"val": key, "comment": …}}`.
        static func element(_ value: ConfigValue) -> (key: [ConfigValue], comment: String?, verdict: String)? {
            guard let pair = value.array, pair.count == 2 else { return nil }
            var key = pair[0]
            var comment: String? = nil
            if let wrapped = key["elem"] {
                comment = wrapped["comment"]?.string
                key = wrapped["val"] ?? .null
            }
            let parts = key["concat"]?.array ?? [key]
            return (parts, comment, verdict(pair[1]) ?? "?")
        }

        /// `{"goto": {"target": "x"}}` → "x"; `{"drop": null}` → "drop".
        static func verdict(_ value: ConfigValue) -> String? {
            guard let object = value.object, let member = object.members.first else { return nil }
            return member.value["target"]?.string ?? member.key
        }

        func table() -> ServiceTable {
            var builder = Entries()
            for element in maps["service-ips"] ?? [] {
                guard element.key.count == 3, let address = element.key[0].string.flatMap(IPAddress.parse),
                    let proto = element.key[1].string, let port = Self.port(element.key[2])
                else { continue }
                let frontend: ServiceFrontend =
                    element.verdict.hasPrefix("external-") ? .externalIP(address, port) : .clusterIP(address, port)
                builder.add(
                    chain: element.verdict, proto: proto, frontend: frontend,
                    evidence: "service-ips: \(address) . \(proto) . \(port) : goto \(element.verdict)")
            }
            for element in maps["service-nodeports"] ?? [] {
                guard element.key.count == 2, let proto = element.key[0].string, let port = Self.port(element.key[1]) else { continue }
                builder.add(
                    chain: element.verdict, proto: proto, frontend: .nodePort(port),
                    evidence: "service-nodeports: \(proto) . \(port) : goto \(element.verdict)")
            }
            for (mapName, nodePorts) in [("no-endpoint-services", false), ("no-endpoint-nodeports", true)] {
                for element in maps[mapName] ?? [] {
                    guard let comment = element.comment, let name = ServicePortName.parse(Substring(comment)) else { continue }
                    let frontend: ServiceFrontend
                    let proto: String
                    if nodePorts {
                        guard element.key.count == 2, let p = element.key[0].string, let port = Self.port(element.key[1]) else { continue }
                        proto = p
                        frontend = .nodePort(port)
                    } else {
                        guard element.key.count == 3, let address = element.key[0].string.flatMap(IPAddress.parse),
                            let p = element.key[1].string,
                            let port = Self.port(element.key[2])
                        else { continue }
                        proto = p
                        frontend = .clusterIP(address, port)
                    }
                    // kube-proxy rejects (no endpoints at all) or drops (none local, for external traffic).
                    let disposition: ServiceDisposition = element.verdict == "drop" ? .noLocalEndpoints : .noEndpoints
                    builder.addUnserved(
                        name: name, proto: proto, frontend: frontend, disposition: disposition,
                        evidence:
                            "\(mapName): \(element.key.map(Self.text).joined(separator: " . ")) comment \"\(comment)\" : \(element.verdict)"
                    )
                }
            }
            var entries = builder.entries
            for index in entries.indices { fillEndpoints(&entries[index], base: builder.bases[index]) }
            return ServiceTable(
                mode: .nftables, entries: entries, problems: problems + builder.problems,
                masqueradeMissing: entries.isEmpty ? nil : masqueradeMissing())
        }

        /// The chain `masquerading` must masquerade, and `nat-postrouting` jump to it.
        func masqueradeMissing() -> String? {
            let masquerades = (chains["masquerading"] ?? []).contains { rule in rule.contains { $0["masquerade"] != nil } }
            if !masquerades { return "chain masquerading of table ip kube-proxy has no masquerade rule" }
            let hooked = (chains["nat-postrouting"] ?? []).contains { rule in
                rule.contains { $0["jump"]?["target"]?.string == "masquerading" }
            }
            return hooked ? nil : "chain nat-postrouting of table ip kube-proxy does not jump to masquerading"
        }

        /// The endpoints a port's `service-`/`local-` chains spread over, each through its
        /// endpoint chain's `dnat to`.
        func fillEndpoints(_ entry: inout ServiceEntry, base: String?) {
            guard let base else { return }
            var endpoints: [ServiceEndpoint] = []
            for prefix in ["service-", "local-"] {
                guard let rules = chains[prefix + base] else { continue }
                if prefix == "local-" { entry.localPolicy = true }
                for expressions in rules {
                    for expression in expressions {
                        guard let vmap = expression["vmap"], let modulus = vmap["key"]?["numgen"]?["mod"]?.int,
                            let choices = vmap["data"]?["set"]?.array
                        else { continue }
                        for choice in choices {
                            guard let pair = choice.array, pair.count == 2, let target = Self.verdict(pair[1]),
                                let endpoint = endpoint(target, share: prefix == "service-" && modulus > 0 ? 1 / Double(modulus) : nil)
                            else { continue }
                            if !endpoints.contains(where: { $0.address == endpoint.address && $0.port == endpoint.port }) {
                                endpoints.append(endpoint)
                            }
                        }
                    }
                }
            }
            entry.endpoints = endpoints
        }

        /// An endpoint chain's `dnat to addr:port`.
        func endpoint(_ chain: String, share: Double?) -> ServiceEndpoint? {
            for expressions in chains[chain] ?? [] {
                for expression in expressions {
                    guard let dnat = expression["dnat"], let address = dnat["addr"]?.string.flatMap(IPAddress.parse),
                        let port = dnat["port"].flatMap(Self.port)
                    else { continue }
                    return ServiceEndpoint(address: address, port: port, share: share, rule: chain)
                }
            }
            return nil
        }

        static func port(_ value: ConfigValue) -> UInt16? {
            value.int.flatMap { UInt16(exactly: $0) } ?? value.string.flatMap { UInt16($0) }
        }

        static func text(_ value: ConfigValue) -> String { value.string ?? value.int.map(String.init) ?? "?" }
    }

    /// Entries keyed by the chain-name base `HASH8-ns/svc/proto/port` kube-proxy gives all of a
    /// service port's chains.
    struct Entries {
        var entries: [ServiceEntry] = []
        var bases: [String?] = []
        var byBase: [String: Int] = [:]
        var byName: [String: Int] = [:]
        var problems: [String] = []

        mutating func add(chain: String, proto: String, frontend: ServiceFrontend, evidence: String) {
            guard let (base, name) = Self.base(of: chain) else {
                problems.append("a service map element points to \(chain), which is no service chain kube-proxy names")
                return
            }
            let slot = slot(base: base, name: name, proto: proto)
            if !entries[slot].frontends.contains(frontend) { entries[slot].frontends.append(frontend) }
            entries[slot].evidence.append(evidence)
        }

        mutating func addUnserved(
            name: ServicePortName, proto: String, frontend: ServiceFrontend, disposition: ServiceDisposition, evidence: String
        ) {
            let key = "\(name) \(proto)"
            let slot: Int
            if let known = byName[key] {
                slot = known
            } else {
                entries.append(ServiceEntry(name: name, proto: proto))
                bases.append(nil)
                slot = entries.count - 1
                byName[key] = slot
            }
            if !entries[slot].frontends.contains(frontend) { entries[slot].frontends.append(frontend) }
            if disposition == .noEndpoints || entries[slot].disposition == .endpoints { entries[slot].disposition = disposition }
            entries[slot].evidence.append(evidence)
        }

        mutating func slot(base: String, name: ServicePortName?, proto: String) -> Int {
            if let known = byBase[base] { return known }
            entries.append(ServiceEntry(name: name, proto: proto))
            bases.append(base)
            byBase[base] = entries.count - 1
            if let name { byName["\(name) \(proto)"] = entries.count - 1 }
            return entries.count - 1
        }

        /// "service-ULMVA6XW-ns1/svc1/tcp/p80" → ("ULMVA6XW-ns1/svc1/tcp/p80", ns1/svc1:p80).
        static func base(of chain: String) -> (String, ServicePortName?)? {
            for prefix in ["service-", "external-", "local-", "firewall-"] where chain.hasPrefix(prefix) {
                let base = String(chain.dropFirst(prefix.count))
                let parts = base.split(separator: "/", omittingEmptySubsequences: false)
                // HASH8-namespace / service / protocol / port (a truncated name ends in "...")
                guard parts.count == 4, let dash = parts[0].firstIndex(of: "-") else { return (base, nil) }
                let namespace = parts[0][parts[0].index(after: dash)...]
                return (base, ServicePortName(namespace: String(namespace), name: String(parts[1]), port: String(parts[3])))
            }
            return nil
        }
    }
}

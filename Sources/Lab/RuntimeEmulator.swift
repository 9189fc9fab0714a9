import ConfigFormats
import NodeFiles

/// Adds a pod to a node's network the way containerd does: each plugin of the conflist in turn,
/// with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH set, the
/// previous plugin's result as prevResult, capabilities as runtimeConfig; then libcni's result
/// cache written in its format.
struct RuntimeEmulator {
    let plan: LabPlan
    let node: LabPlan.Node
    let binDirectory: String

    /// Runs ADD for `pod`, returns the final result.
    func add(_ pod: LabPlan.Pod) throws(LabError) -> ConfigValue {
        let configText = plan.networkConfig(for: node)
        guard let config = try? JSONParser.parse(configText), let plugins = config["plugins"]?.array else {
            throw LabError("the lab's network config does not parse")
        }
        var previous: ConfigValue? = nil
        for plugin in plugins {
            guard var object = plugin.object, let type = object["type"]?.string else { continue }
            object.members.append(.init(key: "name", value: .string(plan.networkName)))
            object.members.append(.init(key: "cniVersion", value: config["cniVersion"] ?? .string("1.0.0")))
            if let previous { object.members.append(.init(key: "prevResult", value: previous)) }
            if object["capabilities"]?["portMappings"]?.bool == true {
                object.members.append(.init(key: "runtimeConfig", value: .fields(["portMappings": .array([])])))
            }
            let output = try Shell.inNamespace(node.namespace, ["\(binDirectory)/\(type)"],
                                               input: JSONWriter.write(.object(object), pretty: false),
                                               environment: environment(for: pod, command: "ADD"))
            guard let result = try? JSONParser.parse(output) else {
                throw LabError("\(type) returned no result for \(pod.name): \(output.prefix(200))")
            }
            if let code = result["code"]?.int {
                throw LabError("\(type) failed for \(pod.name) with CNI error \(code): \(result["msg"]?.string ?? "")")
            }
            previous = result
        }
        guard let result = previous else { throw LabError("the chain gave no result") }
        try writeCache(pod, config: configText, result: result)
        return result
    }

    /// DEL for `pod`, in reverse order, so host-local releases its address.
    func delete(_ pod: LabPlan.Pod) {
        guard let config = try? JSONParser.parse(plan.networkConfig(for: node)), let plugins = config["plugins"]?.array else { return }
        for plugin in plugins.reversed() {
            guard var object = plugin.object, let type = object["type"]?.string else { continue }
            object.members.append(.init(key: "name", value: .string(plan.networkName)))
            object.members.append(.init(key: "cniVersion", value: config["cniVersion"] ?? .string("1.0.0")))
            _ = try? Shell.inNamespace(node.namespace, ["\(binDirectory)/\(type)"], input: JSONWriter.write(.object(object), pretty: false),
                                       environment: environment(for: pod, command: "DEL"))
        }
    }

    func environment(for pod: LabPlan.Pod, command: String) -> [String] {
        ["CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(pod.containerID)", "CNI_NETNS=/var/run/netns/\(pod.namespace)",
         "CNI_IFNAME=eth0", "CNI_PATH=\(binDirectory)",
         "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=\(pod.name);K8S_POD_INFRA_CONTAINER_ID=\(pod.containerID);K8S_POD_UID=\(pod.containerID.prefix(8))-0000-4000-8000-\(pod.containerID.suffix(12))"]
    }

    /// libcni's cachedInfo (libcni/api.go), as containerd leaves it in /var/lib/cni/results.
    func writeCache(_ pod: LabPlan.Pod, config: String, result: ConfigValue) throws(LabError) {
        let entry: ConfigValue = .fields([
            "kind": .string("cniCacheV1"),
            "containerId": .string(pod.containerID),
            "config": .string(Base64.encode(Array(config.utf8))),
            "ifName": .string("eth0"),
            "networkName": .string(plan.networkName),
            "netns": .string("/var/run/netns/\(pod.namespace)"),
            "cniArgs": .array([["IgnoreUnknown", "1"], ["K8S_POD_NAMESPACE", "default"], ["K8S_POD_NAME", pod.name],
                               ["K8S_POD_INFRA_CONTAINER_ID", pod.containerID]].map { .array($0.map { .string($0) }) }),
            "capabilityArgs": .fields(["portMappings": .array([])]),
            "result": result,
        ])
        let path = "\(plan.nodeRoot(node))/var/lib/cni/results/\(plan.networkName)-\(pod.containerID)-eth0"
        try LabFiles.write(path, JSONWriter.write(entry, pretty: false), mode: 0o600)
    }
}

/// Standard base64, as Go marshals []byte.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let count = min(3, bytes.count - i)
            var n = UInt32(bytes[i]) << 16
            if count > 1 { n |= UInt32(bytes[i + 1]) << 8 }
            if count > 2 { n |= UInt32(bytes[i + 2]) }
            for j in 0..<4 { out.append(j <= count ? table[Int((n >> UInt32(18 - 6 * j)) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

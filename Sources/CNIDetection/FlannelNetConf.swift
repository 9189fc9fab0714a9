import ConfigFormats

/// flannel's daemon config (net-conf.json, a ConfigMap key mounted into the flannel pod): the
/// cluster network and the backend. Not a CNI network config, and never loaded by libcni.
public struct FlannelNetConf: Sendable, Equatable {
    public var network: String?
    public var ipv6Network: String?
    public var backend: String

    public var encapsulation: Encapsulation { .flannelBackend(backend) }

    public static func parse(bytes: [UInt8]) throws(ParseError) -> FlannelNetConf {
        let value = try JSONParser.parse(bytes: bytes)
        return FlannelNetConf(
            network: value["Network"]?.string, ipv6Network: value["IPv6Network"]?.string,
            backend: value["Backend"]?["Type"]?.string ?? "vxlan")
    }
}

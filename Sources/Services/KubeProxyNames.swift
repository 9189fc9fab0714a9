/// The names kube-proxy gives a Service port's chains, so the lab writes them as kube-proxy does
/// and the readers can tell a name kube-proxy would write from one it would not.
///
/// iptables: `KUBE-SVC-` + the first 16 characters of base32(sha256(servicePortName + protocol)),
/// `KUBE-SEP-` the same over servicePortName + protocol + "ip:port" (chain names are limited to
/// 28 characters). nftables: `HASH8-ns/svc/proto/port`, HASH8 the first 8 base32 characters of
/// sha256 of the rest, the endpoint's base `…__ip/port` hashed likewise (pkg/proxy/iptables and
/// pkg/proxy/nftables proxier.go). Checked against chain names in kube-proxy's golden test
/// outputs (ServicesTests/KubeProxyNamesTests).
public enum KubeProxyNames {
    /// "XPGD46QRK7WJZT7O" for ("ns1/svc1:p80", "tcp").
    public static func portHash(_ name: ServicePortName, proto: String) -> String {
        String(base32(SHA256.digest(Array((name.description + proto).utf8))).prefix(16))
    }

    public static func serviceChain(_ name: ServicePortName, proto: String) -> String { "KUBE-SVC-" + portHash(name, proto: proto) }
    public static func localChain(_ name: ServicePortName, proto: String) -> String { "KUBE-SVL-" + portHash(name, proto: proto) }
    public static func externalChain(_ name: ServicePortName, proto: String) -> String { "KUBE-EXT-" + portHash(name, proto: proto) }

    /// KUBE-SEP-… for an endpoint "10.180.0.1:80".
    public static func endpointChain(_ name: ServicePortName, proto: String, endpoint: String) -> String {
        "KUBE-SEP-" + String(base32(SHA256.digest(Array((name.description + proto + endpoint).utf8))).prefix(16))
    }

    /// nftables: "ULMVA6XW-ns1/svc1/tcp/p80".
    public static func nftablesBase(_ name: ServicePortName, proto: String) -> String {
        hashed("\(name.namespace)/\(name.name)/\(proto)/\(name.port)")
    }

    /// nftables: "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80" (IPv6 colons become dots).
    public static func nftablesEndpointBase(_ name: ServicePortName, proto: String, address: String, port: UInt16) -> String {
        hashed("\(name.namespace)/\(name.name)/\(proto)/\(name.port)__\(address.replacingColons)/\(port)")
    }

    /// The hash prefix, and the name cut to kube-proxy's 112 characters with "..." when longer.
    static func hashed(_ name: String) -> String {
        let full = String(base32(SHA256.digest(Array(name.utf8))).prefix(8)) + "-" + name
        return full.utf8.count > 112 ? String(full.prefix(109)) + "..." : full
    }

    /// RFC 4648 base32, standard alphabet (Go's base32.StdEncoding), without padding.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var output = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return output
    }
}

extension String {
    fileprivate var replacingColons: String { String(map { $0 == ":" ? "." : $0 }) }
}

/// SHA-256 (FIPS 180-4), for kube-proxy's chain names only: nothing here is a security boundary.
enum SHA256 {
    static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func digest(_ message: [UInt8]) -> [UInt8] {
        var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        var words = [UInt32](repeating: 0, count: 64)
        for block in stride(from: 0, to: padded.count, by: 64) {
            for i in 0..<16 {
                let at = block + 4 * i
                words[i] = UInt32(padded[at]) << 24 | UInt32(padded[at + 1]) << 16 | UInt32(padded[at + 2]) << 8 | UInt32(padded[at + 3])
            }
            for i in 16..<64 {
                let s0 = rotate(words[i - 15], 7) ^ rotate(words[i - 15], 18) ^ (words[i - 15] >> 3)
                let s1 = rotate(words[i - 2], 17) ^ rotate(words[i - 2], 19) ^ (words[i - 2] >> 10)
                words[i] = words[i - 16] &+ s0 &+ words[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
            for i in 0..<64 {
                let t1 = h &+ (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) &+ ((e & f) ^ (~e & g)) &+ roundConstants[i] &+ words[i]
                let t2 = (rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, value) in [a, b, c, d, e, f, g, h].enumerated() { state[i] = state[i] &+ value }
        }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * $0)) } }
    }

    static func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 { (value >> count) | (value << (32 - count)) }
}

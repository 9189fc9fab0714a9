import Testing
@testable import Services

/// Chain names as kube-proxy writes them: each expected value below appears in kube-proxy's own
/// golden test outputs (pkg/proxy/iptables/proxier_test.go, pkg/proxy/nftables/proxier_test.go).
@Suite("kube-proxy's chain names")
struct KubeProxyNamesTests {
    let svc1 = ServicePortName(namespace: "ns1", name: "svc1", port: "p80")

    @Test("iptables: KUBE-SVC and KUBE-SEP hashes match kube-proxy's")
    func iptablesNames() {
        #expect(KubeProxyNames.serviceChain(svc1, proto: "tcp") == "KUBE-SVC-XPGD46QRK7WJZT7O")
        #expect(
            KubeProxyNames.serviceChain(ServicePortName(namespace: "ns2", name: "svc2", port: "p8080"), proto: "tcp")
                == "KUBE-SVC-2VJB64SDSIJUP5T6")
        #expect(KubeProxyNames.endpointChain(svc1, proto: "tcp", endpoint: "10.180.0.1:80") == "KUBE-SEP-SXIVWICOYRO3J4NJ")
        #expect(KubeProxyNames.endpointChain(svc1, proto: "tcp", endpoint: "10.0.1.1:80") == "KUBE-SEP-SNQ3ZNILQDEJNDQO")
        #expect(
            KubeProxyNames.serviceChain(ServicePortName(namespace: "kube-system", name: "kube-dns", port: "dns"), proto: "udp")
                == "KUBE-SVC-TCOU7JCQXEZGVUNU")
    }

    @Test("nftables: chain bases carry the hash and the names")
    func nftablesNames() {
        #expect(KubeProxyNames.nftablesBase(svc1, proto: "tcp") == "ULMVA6XW-ns1/svc1/tcp/p80")
        #expect(
            KubeProxyNames.nftablesEndpointBase(svc1, proto: "tcp", address: "10.180.0.1", port: 80)
                == "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80")
        #expect(
            KubeProxyNames.nftablesBase(ServicePortName(namespace: "ns2", name: "svc2", port: "p80"), proto: "tcp")
                == "42NFTM6N-ns2/svc2/tcp/p80")
    }

    @Test("SHA-256 of the empty string and of 'abc' (FIPS 180-4's examples)")
    func sha256() {
        let hex = { (bytes: [UInt8]) in
            bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        }
        #expect(hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.digest(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // Two blocks: 56 bytes of padding boundary.
        #expect(
            hex(SHA256.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}

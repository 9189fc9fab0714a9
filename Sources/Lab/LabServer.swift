import NetSystem

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// The lab's stand-in for nginx in pod-a: answers HTTP/1.1 GET on a port, `/` with a line and
/// `/large` with 64 KiB (large responses are what MTU problems break). One connection at a
/// time, each bounded by a receive timeout; SIGTERM ends it.
public enum LabServer {
    public static func run(port: UInt16) -> Never {
        let large = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
        serve(port: port, loopbackOnly: false) { request in
            (200, request.hasPrefix("GET /large") ? large : Array("hello from the netdoctor lab\n".utf8))
        }
    }

    /// The lab's stand-in for kube-proxy's metrics listener on 127.0.0.1:10249 (there is no
    /// kube-proxy process in the lab): /proxyMode, /healthz, and /metrics with the sync metrics
    /// kube-proxy exports, its last sync a few seconds ago, or (while `staleFlag` exists: lab
    /// break PROXY_STALE) a change queued ten minutes ago and never written; /configz as that
    /// release serves it, with the cluster CIDRs its local-traffic detector uses.
    public static func kubeProxy(mode: String, clusterCIDRs: String, staleFlag: String, release: KubeProxyRelease) -> Never {
        serve(port: 10249, loopbackOnly: true) { request in
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            let now = Double(time(nil))
            let stale = access(staleFlag, F_OK) == 0
            switch path {
            case "/proxyMode": return (200, Array(mode.utf8))
            case "/healthz": return stale ? (503, Array("{\"lastUpdated\": \"stale\"}".utf8)) : (200, Array("ok".utf8))
            case "/configz":
                return (200, Array(configz(mode: mode, clusterCIDRs: clusterCIDRs, release: release).utf8))
            case "/metrics":
                let (sync, queued) = stale ? (now - 900, now - 600) : (now - 5, now - 6)
                let family = mode == "nftables" ? "nftables_sync_failures_total" : "iptables_restore_failures_total"
                return (
                    200,
                    Array(
                        """
                        # HELP kubeproxy_sync_proxy_rules_last_timestamp_seconds [ALPHA] The last time proxy rules were successfully synced
                        # TYPE kubeproxy_sync_proxy_rules_last_timestamp_seconds gauge
                        kubeproxy_sync_proxy_rules_last_timestamp_seconds \(sync)
                        # TYPE kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds gauge
                        kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds \(queued)
                        # TYPE kubeproxy_sync_proxy_rules_\(family) counter
                        kubeproxy_sync_proxy_rules_\(family) \(stale ? 3 : 0)

                        """.utf8)
                )
            default: return (404, Array("404 page not found\n".utf8))
            }
        }
    }

    /// kube-proxy releases whose /configz shapes differ where netdoctor reads them.
    public enum KubeProxyRelease: String, Sendable, CaseIterable, Codable {
        case current = "1.33"
        case before131 = "1.30"
    }

    /// /configz as kube-proxy serves it: its internal configuration type marshalled by
    /// encoding/json with no tags, so Go's field names (pkg/proxy/apis/config/types.go): 1.30's
    /// top-level ClusterCIDR (a comma-separated string) and NFTables section, or, since 1.31,
    /// DetectLocal.ClusterCIDRs (a list) and the Linux section. The fields netdoctor does not
    /// read are there too, as a real answer has them.
    static func configz(mode: String, clusterCIDRs: String, release: KubeProxyRelease) -> String {
        let cidrs = clusterCIDRs.split(separator: ",").map { "\"\($0)\"" }.joined(separator: ",")
        let common =
            #""FeatureGates":{},"ClientConnection":{"Kubeconfig":"/var/lib/kube-proxy/kubeconfig.conf","AcceptContentTypes":"","ContentType":"application/vnd.kubernetes.protobuf","QPS":5,"Burst":10},"Logging":{"format":"text","flushFrequency":"5s","verbosity":0,"options":{"text":{"infoBufferSize":"0"},"json":{"infoBufferSize":"0"}}},"HostnameOverride":"","BindAddress":"0.0.0.0","HealthzBindAddress":"0.0.0.0:10256","MetricsBindAddress":"127.0.0.1:10249","BindAddressHardFail":false,"EnableProfiling":false,"ShowHiddenMetricsForVersion":"","Mode":"\#(mode)","#
        let conntrack =
            #""Conntrack":{"MaxPerCore":0,"Min":null,"TCPEstablishedTimeout":"24h0m0s","TCPCloseWaitTimeout":"1h0m0s","TCPBeLiberal":false,"UDPTimeout":"0s","UDPStreamTimeout":"0s"}"#
        switch release {
        case .current:
            return #"{"kubeproxy.config.k8s.io":{"# + common
                + #""IPTables":{"MasqueradeBit":14,"LocalhostNodePorts":true},"IPVS":{"Scheduler":"","ExcludeCIDRs":null,"StrictARP":false,"TCPTimeout":"0s","TCPFinTimeout":"0s","UDPTimeout":"0s"},"NFTables":{"MasqueradeBit":14},"#
                + #""Linux":{"# + conntrack + #","MasqueradeAll":false,"OOMScoreAdj":-999},"Windows":{"RunAsService":false},"#
                + #""DetectLocalMode":"ClusterCIDR","DetectLocal":{"BridgeInterface":"","ClusterCIDRs":["# + cidrs
                + #"],"InterfaceNamePrefix":""},"NodePortAddresses":null,"SyncPeriod":"30s","MinSyncPeriod":"1s","ConfigSyncPeriod":"15m0s"}}"#
        case .before131:
            return #"{"kubeproxy.config.k8s.io":{"# + common
                + #""IPTables":{"MasqueradeBit":14,"MasqueradeAll":false,"LocalhostNodePorts":true,"SyncPeriod":"30s","MinSyncPeriod":"1s"},"IPVS":{"SyncPeriod":"30s","MinSyncPeriod":"0s","Scheduler":"","ExcludeCIDRs":null,"StrictARP":false,"TCPTimeout":"0s","TCPFinTimeout":"0s","UDPTimeout":"0s"},"NFTables":{"MasqueradeBit":14,"MasqueradeAll":false,"SyncPeriod":"30s","MinSyncPeriod":"1s"},"#
                + #""DetectLocalMode":"ClusterCIDR","DetectLocal":{"BridgeInterface":"","InterfaceNamePrefix":""},"ClusterCIDR":"\#(clusterCIDRs)","NodePortAddresses":null,"OOMScoreAdj":-999,"#
                + conntrack + #","ConfigSyncPeriod":"15m0s","PortRange":""}}"#
        }
    }

    /// One HTTP/1.1 GET at a time, each bounded by a receive timeout; SIGTERM ends it.
    static func serve(port: UInt16, loopbackOnly: Bool, respond: (String) -> (Int, [UInt8])) -> Never {
        let fd = bound(Int32(SOCK_STREAM.rawValue), port: port, loopbackOnly: loopbackOnly)
        guard listen(fd, 64) == 0 else { fail("listen on port \(port)") }
        signal(SIGPIPE, SIG_IGN)
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { continue }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            let (status, body) = respond(n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : "")
            let reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Service Unavailable"
            let head =
                "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            let response = Array(head.utf8) + body
            var sent = 0
            while sent < response.count {
                let m = response[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
                if m <= 0 { break }
                sent += m
            }
            close(client)
        }
    }

    /// A UDP echo on a port: each datagram goes back to its sender (the lab's UDP service).
    public static func echo(port: UInt16) -> Never {
        let fd = bound(Int32(SOCK_DGRAM.rawValue), port: port)
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, 0, raw, &length) }
                }
            }
            guard n >= 0 else { continue }
            _ = withUnsafePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                    buffer.withUnsafeBytes { sendto(fd, $0.baseAddress, n, 0, raw, length) }
                }
            }
        }
    }

    /// A socket of `type` bound to `port` on every address of both families (an IPv6 socket
    /// that takes IPv4 too, as nginx's `listen [::]:80 ipv6only=off`), or 127.0.0.1 only; the
    /// server exits with status 3 when it cannot have it.
    static func bound(_ type: Int32, port: UInt16, loopbackOnly: Bool = false) -> Int32 {
        let fd = socket(loopbackOnly ? AF_INET : AF_INET6, type, 0)
        guard fd >= 0 else { fail("socket") }
        var on: Int32 = 1, off: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if !loopbackOnly { setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size)) }
        let status = SocketAddress.withIP(loopbackOnly ? SocketAddress.loopback : SocketAddress.anyIPv6, port: port) { bind(fd, $0, $1) }
        guard status == 0 else { fail("bind on port \(port)") }
        return fd
    }

    static func fail(_ what: String) -> Never {
        let message = "netdoctor lab serve: \(what): \(String(cString: strerror(errno)))\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(3)
    }
}

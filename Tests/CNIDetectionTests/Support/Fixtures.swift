import CNIDetection
import Diagnosis
import NodeFiles
import TestSupport

/// Small, realistic node pieces for the detector tests.
enum Fixtures {
    static let flannelConflist = """
        {
          "name": "cbr0",
          "cniVersion": "0.3.1",
          "plugins": [
            { "type": "flannel", "delegate": { "hairpinMode": true, "isDefaultGateway": true } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """

    static let calicoConflist = """
        {
          "name": "k8s-pod-network",
          "cniVersion": "0.3.1",
          "plugins": [
            { "type": "calico", "nodename": "worker-1", "mtu": 0, "ipam": { "type": "calico-ipam" } },
            { "type": "portmap", "snat": true, "capabilities": { "portMappings": true } }
          ]
        }
        """

    static let bridgeConflist = """
        {
          "cniVersion": "1.0.0",
          "name": "lab",
          "plugins": [
            { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "mtu": 1450,
              "ipam": { "type": "host-local", "ranges": [[{ "subnet": "10.244.1.0/24" }]] } },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """

    static let containerdV2 = """
        version = 2
        [plugins."io.containerd.grpc.v1.cri"]
          sandbox_image = "registry.k8s.io/pause:3.9"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
          [plugins."io.containerd.grpc.v1.cri".cni]
            bin_dir = "/opt/cni/bin"
            conf_dir = "/etc/cni/net.d"
        """

    static let kubeletConfig = """
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        cgroupDriver: systemd
        clusterDNS:
        - 10.96.0.10
        clusterDomain: cluster.local
        containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
        maxPods: 110
        """

    /// A flannel node on containerd: config, kubelet, conf dir, plugins, subnet.env.
    static func flannelNode(mtu: Int = 1450) -> NodeTree {
        NodeTree()
            .write("/etc/containerd/config.toml", containerdV2)
            .write("/var/lib/kubelet/config.yaml", kubeletConfig)
            .write("/etc/cni/net.d/10-flannel.conflist", flannelConflist)
            .write(
                "/run/flannel/subnet.env",
                "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=\(mtu)\nFLANNEL_IPMASQ=true\n"
            )
            .plugins(["flannel", "portmap", "bridge", "host-local", "loopback"])
    }

    static func detect(_ tree: NodeTree, uplink: Int? = 1500, devices: Set<String> = []) -> DetectCNIReport {
        CNIDetector.detect(
            DetectionInput(
                root: tree.root, kernel: KernelView(uplink: nil, devices: devices),
                uplinkMTU: uplink, queryPlugins: true))
    }
}

extension DetectCNIReport {
    func findings(_ code: FindingCode) -> [Finding] { findings.filter { $0.code == code } }
    var errorCodes: [String] { findings.filter { $0.severity == .error }.map(\.code.rawValue) }
}

#compdef netdoctor

__netdoctor_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__netdoctor_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __netdoctor_complete "${completions[@]:0:-1}"
    fi
}

__netdoctor_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_netdoctor() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'check:The whole node'\''s pod network judged at once, including what breaks before a pod has a network.'
            'detect-cni:Which CNI config the runtime really loads, its chain, IPAM, MTU, encapsulation, and every problem.'
            'inspect:A pod'\''s (or the node'\''s) network namespace as the kernel sees it.'
            'mtu-probe:The real path MTU between pods, MTU mismatches and PMTU black holes.'
            'trace:Can SRC reach DST, and if not, where and why.'
            'services:The node'\''s Services as kube-proxy programmed them: frontends, endpoints and where they are, problems.'
            'dns:A pod'\''s DNS as the pod sees it: its resolv.conf, the queries its resolver sends for NAME, each nameserver'\''s answers, and what is wrong.'
            'policy:The NetworkPolicies that select a pod on this node, per direction, as its policy engine programmed them, with their counters.'
            'capture:libpcap capture in pod and node namespaces, several points at once, pcapng files.'
            'agent:Serve this node'\''s view to netdoctor on other nodes (cluster mode; runs as a DaemonSet).'
            'incidents:The incidents a watching agent (agent --watch) kept: each failed probe with the full trace that explained it.'
            'lab:A two-node pod network in network namespaces, wired by the real CNI plugins, to try every command on (netdoctor-lab, installed beside netdoctor).'
            'explain:What a finding code means, how netdoctor decides it, and what to do.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        check|detect-cni|inspect|mtu-probe|trace|services|dns|policy|capture|agent|incidents|lab|explain|help)
            "_netdoctor_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_netdoctor_check() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--runtime-log[The container runtime'\''s log file on this machine, when it does not log to the journal (k3s'\''s and rke2'\''s are found by themselves).]:file:_files'
        '--node[Ask this node'\''s agent instead (its address or a name that resolves to it; port 9449).]:node:'
        '--agent[The agent to ask, when not at the node'\''s address and port.]:addr\:port:'
        '--token-file[The agents'\'' bearer token (env NETDOCTOR_TOKEN_FILE).]:file:_files'
        '--probe[Also probe\: the MTU sweep and a DNS lookup of kubernetes.default from the node'\''s first pod, and the health of each peer node'\''s agent (with a token).]'
        '--probe-timeout[With --probe\: how long each MTU probe waits for its answer, in milliseconds.]:ms:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_detect-cni() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--uplink-mtu[Judge the pod MTU against this uplink MTU instead of the default route device'\''s.]:bytes:'
        '--no-plugin-query[Do not run the active chain'\''s plugins with CNI_COMMAND=VERSION to check their supported versions.]'
        '--query-plugins[Run them also under a --root other than / (a tree you trust\: its programs run as you).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_inspect() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        ':target:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_mtu-probe() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar ___family=('4' '6')
    local -ar ___protocol=('icmp' 'udp')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--agent[The remote node'\''s agent, when not at that node'\''s address and port 9449.]:addr\:port:'
        '--no-agent[Do not ask the remote node'\''s agent\: this node'\''s view only.]'
        '--token-file[The agents'\'' bearer token (env NETDOCTOR_TOKEN_FILE).]:file:_files'
        '--tls-ca[CA bundle to verify the agents'\'' HTTPS certificates by (env NETDOCTOR_TLS_CA); without it, plain HTTP.]:file:_files'
        '--tls-server-name[The name in the agents'\'' certificate, when it is not the node'\''s IP.]:name:'
        ':src:'
        ':dst:'
        '--family[Probe only this family (default\: every family both ends have; path MTU is per family).]:4|6:{__netdoctor_complete "${___family[@]}"}'
        '--timeout[How long to wait for each probe'\''s fate, in milliseconds.]:ms:'
        '--protocol[icmp\: echo requests (default; their replies are not rate-limited); udp\: to a closed port, as tracepath does.]:protocol:{__netdoctor_complete "${___protocol[@]}"}'
        '--port[The UDP port probed with --protocol udp (a closed port\: the destination answers ICMP port unreachable).]:port:'
        '--verbose[Show every probe and interface in the human output.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_trace() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar ___protocol=('icmp' 'tcp' 'udp')
    local -ar ___family=('4' '6')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--agent[The remote node'\''s agent, when not at that node'\''s address and port 9449.]:addr\:port:'
        '--no-agent[Do not ask the remote node'\''s agent\: this node'\''s view only.]'
        '--token-file[The agents'\'' bearer token (env NETDOCTOR_TOKEN_FILE).]:file:_files'
        '--tls-ca[CA bundle to verify the agents'\'' HTTPS certificates by (env NETDOCTOR_TLS_CA); without it, plain HTTP.]:file:_files'
        '--tls-server-name[The name in the agents'\'' certificate, when it is not the node'\''s IP.]:name:'
        ':src:'
        ':dst:'
        '--port[Probe this port (TCP by default when given).]:port:'
        '--protocol[icmp (default), tcp (default with --port; port 80 without one) or udp (needs --port).]:protocol:{__netdoctor_complete "${___protocol[@]}"}'
        '--timeout[How long the probe waits for an answer, in milliseconds.]:ms:'
        '--family[Trace only this family (default\: every family both ends have).]:4|6:{__netdoctor_complete "${___family[@]}"}'
        '--trace-rules[Trace the request through nf_tables (nftrace) in each namespace on this node'\''s part of the path, and list every rule it met with its table, chain, handle, verdict and comment. Adds a table of netdoctor'\''s own (netdoctor-trace-PID-N) for the probe and removes it after, also on Ctrl-C; without this flag trace changes nothing.]'
        '--drop-reasons[Ask the kernel why it dropped the probe\: a BPF program of netdoctor'\''s own on the skb\:kfree_skb tracepoint, filtered in the kernel to the probe'\''s packets, reports each drop'\''s reason (named from the kernel'\''s BTF), function, interface and namespace. Loaded for the probe only and removed after; it lives only as this process'\''s file descriptors, so nothing is left behind even if the run is killed. Needs root, libbpf and a kernel with BTF (5.17+).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_services() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar ___proxy_mode=('iptables' 'nftables' 'ipvs' 'cilium')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        ':service:'
        '--proxy-mode[Read this proxy mode'\''s rules instead of asking kube-proxy and the kernel which.]:mode:{__netdoctor_complete "${___proxy_mode[@]}"}'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_dns() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        ':pod:'
        ':name:'
        '--timeout[How long each query waits for its answer, in milliseconds (default\: the resolv.conf'\''s timeout).]:ms:'
        '--slow[An answer slower than this is DNS_SLOW, in milliseconds.]:ms:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_policy() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        ':pod:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_capture() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '*:target:'
        '--filter[A pcap-filter expression (as tcpdump takes), applied at every point.]:filter:'
        '--count[Stop after this many packets (over all points).]:count:'
        '--duration[Stop after this many seconds.]:seconds:'
        '--write[Write a pcapng file instead of printing packets.]:file:_files'
        '--buffer-size[The kernel buffer per point, in MiB (larger for floods).]:MiB:'
        '--immediate[With --write, still hand over each packet as it comes (immediate mode) instead of in blocks.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_agent() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--watch[Probe peers continuously\: each interval, the next --watch-peers nodes on a ring by name hash (their agent, and a pod of each with an ICMP echo of the full pod MTU with DF set); a failure is explained by a full trace and kept as an incident (/v1/incidents); metrics at /metrics.]'
        '--watch-interval[Seconds between probe rounds.]:s:'
        '--watch-jitter[Each round'\''s wait stretched or shrunk by up to this fraction, so that agents started together drift apart.]:fraction:'
        '--watch-timeout[How long a watch probe waits for its answer.]:ms:'
        '--watch-peers[Peers each node probes\: the next N on the ring.]:n:'
        '--watch-nodes[More node addresses to watch beside those this node'\''s routes and overlay entries lead to (comma-separated).]:addrs:'
        '--watch-dns[A name to look up from a local pod each round, as its resolver would (e.g. kubernetes.default).]:name:'
        '--watch-service[A Service to connect to from a local pod each round (ADDR\:PORT or NAMESPACE/NAME\[\:PORT\]).]:service:'
        '--watch-incidents[Incidents kept (the oldest go first).]:n:'
        '--incidents-file[File keeping the incidents across restarts (a hostPath in the DaemonSet); none\: memory only.]:file:'
        '--listen[Address and port to listen on (the node'\''s address; 0.0.0.0 for all, \[\:\:\] for all of both families; port 0\: any free port, logged). A comma-separated list listens on each\: a dual-stack node'\''s addresses, as the downward API'\''s status.hostIPs gives them (an address without a port gets 9449).]:addr\:port\[,…\]:'
        '--token-file[File holding the bearer token callers must send (env NETDOCTOR_TOKEN_FILE).]:file:_files'
        '--tls-cert[PEM certificate (chain) to serve HTTPS with.]:file:_files'
        '--tls-key[PEM private key of --tls-cert.]:file:_files'
        '--node-name[How this node is named in other nodes'\'' traces (env NODE_NAME; default\: the host name).]:name:'
        '--max-capture-seconds[The longest capture a caller may ask for, in seconds.]:s:'
        '--max-captures[Captures that may run at once.]:n:'
        '--read-timeout[Seconds a request'\''s head and body may take to arrive (slow clients are cut off).]:s:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_incidents() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--node[Only incidents about this node (by name).]:node:'
        '--agent[The agent to ask (default\: this node'\''s, at its address).]:addr\:port:'
        '--token-file[The agents'\'' bearer token (env NETDOCTOR_TOKEN_FILE).]:file:_files'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_lab() {
    local -i ret=1
    local -ar arg_specs=(
        '*:words:'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_explain() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        ':code:'
        '--markdown[Print the whole catalogue as Markdown (docs/findings.md).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _netdoctor ]]; then
    _netdoctor "${@}"
else
    compdef _netdoctor netdoctor
fi

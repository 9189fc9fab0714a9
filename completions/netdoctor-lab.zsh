#compdef netdoctor-lab

__netdoctor-lab_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__netdoctor-lab_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __netdoctor-lab_complete "${completions[@]:0:-1}"
    fi
}

__netdoctor-lab_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_netdoctor-lab() {
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
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'lab:A two-node pod network in network namespaces, wired by the real CNI plugins, to try every command on.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        lab|help)
            "_netdoctor-lab_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_netdoctor-lab_lab() {
    local -i ret=1
    local -ar arg_specs=(
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'up:Build the lab (an existing one is removed first).'
            'down:Remove everything the lab made.'
            'status:Show what the lab has: nodes, pods, addresses, faults.'
            'break:Inject a fault: one per finding code.'
            'exec:Run a command as if on a lab node (in its namespace, with NETDOCTOR_ROOT at its file tree) or in a pod.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        up|down|status|break|exec)
            "_netdoctor-lab_lab_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_netdoctor-lab_lab_up() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar ___topology=('overlay' 'routed' 'calico')
    local -ar ___family=('4' 'dual' '6')
    local -ar ___proxy=('iptables' 'nftables')
    local -ar ___policy_engine=('calico' 'calico-nftables' 'kube-router' 'kube-network-policies')
    local -ar ___kube_proxy_release=('1.33' '1.30')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor-lab_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '--topology[overlay\: a bridge per node and VXLAN between nodes (flannel-like); routed\: point-to-point veths and node routes (kindnet-like); calico\: /32 pods behind proxy-ARP cali veths, per-pod host routes, per-block routes over vxlan.calico, and felix'\''s policy chains.]:topology:{__netdoctor-lab_complete "${___topology[@]}"}'
        '--family[The pods'\'' address families\: 4, dual (IPv4 and IPv6\: host-local with a range per family, IPv6 routes between nodes, flannel-v6.1 beside flannel.1) or 6 (IPv6 only\: the nodes have no IPv4 address either). Every topology; calico'\''s policy engines are IPv4'\''s.]:4|dual|6:{__netdoctor-lab_complete "${___family[@]}"}'
        '--agents[Also run `netdoctor agent` on each node (port 9449, a token in /var/lib/netdoctor-lab/agent-token)\: cross-node traces then see both nodes.]'
        '--watch[With --agents\: the agents watch each other (agent --watch, every 2 s)\: break a path and the incident appears (netdoctor incidents).]'
        '--extra-pods[More pods on node1 (pod-x1 …), up to 200\: a node with many pods, for benchmarks.]:n:'
        '--same-name-pods[Also web-0 in the namespaces staging and prod on node1, as two StatefulSets would have them\: reports name each namespace/web-0.]'
        '--proxy[Services on both nodes, with rules written as kube-proxy writes them in this mode (iptables or nftables)\: default/web, default/echo (UDP), default/empty (no endpoints), default/local (externalTrafficPolicy\: Local).]:mode:{__netdoctor-lab_complete "${___proxy[@]}"}'
        '--extra-services[With --proxy\: this many more Services of three endpoints each in the rules (benchmarks), up to 20000.]:n:'
        '--nodelocaldns[With --proxy iptables\: NodeLocal DNSCache on each node (a link named nodelocaldns holding 169.254.20.10 and the kube-dns address, node-cache'\''s NOTRACK and ACCEPT rules, a DNS server on the node answering there).]'
        '--policy-engine[With --topology calico\: whose NetworkPolicy chains the nodes carry\: calico (felix'\''s iptables dataplane), calico-nftables (felix'\''s nftables dataplane), kube-router.]:engine:{__netdoctor-lab_complete "${___policy_engine[@]}"}'
        '--kube-proxy-release[With --proxy\: the kube-proxy release whose /configz the stand-in serves\: 1.33 (DetectLocal.ClusterCIDRs, as since 1.31) or 1.30 (a top-level ClusterCIDR).]:release:{__netdoctor-lab_complete "${___kube_proxy_release[@]}"}'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor-lab_lab_down() {
    local -i ret=1
    local -ar arg_specs=(
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor-lab_lab_status() {
    local -i ret=1
    local -ar ___output=('human' 'json')
    local -ar arg_specs=(
        '--root[Prefix for every node file read (env NETDOCTOR_ROOT).]:dir:_files -/'
        '(-o --output)'{-o,--output}'[Output format\: human or json (one JSON document on stdout).]:output:{__netdoctor-lab_complete "${___output[@]}"}'
        '--no-color[Plain text without colour (also when NO_COLOR is set).]'
        '--runtime-endpoint[The container runtime'\''s CRI socket, unix\:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default\: the kubelet'\''s, under --root).]:endpoint:'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor-lab_lab_break() {
    local -i ret=1
    local -ar _fault=('LINK_DOWN' 'NO_ROUTE' 'IP_FORWARD_DISABLED' 'NEIGHBOR_FAILED' 'NEIGHBOR_MAC_MISMATCH' 'BRIDGE_PORT_MISSING' 'OVERLAY_FDB_MISSING' 'FIREWALL_DROP' 'DUPLICATE_IP' 'MTU_MISMATCH' 'PMTU_BLACKHOLE' 'LOST_BEYOND_NODE' 'REPLY_MISSING' 'PORT_CLOSED' 'CNI_NO_CONFIG' 'CNI_CONFIG_INVALID' 'CNI_VERSION_UNSUPPORTED' 'CNI_BINARY_MISSING' 'CNI_MULTIPLE_CONFIGS' 'CNI_STALE_CONFIG' 'RUNTIME_CONFIG_INVALID' 'KUBELET_CONFIG_INVALID' 'CNI_MTU_TOO_LARGE' 'SERVICE_NO_ENDPOINTS' 'SERVICE_NOT_PROGRAMMED' 'ENDPOINT_UNREACHABLE' 'STALE_CONNTRACK' 'MASQUERADE_MISSING' 'HAIRPIN_DISABLED' 'PROXY_STALE' 'DNS_SERVER_UNREACHABLE' 'DNS_UDP_BLOCKED' 'DNS_NO_ANSWER' 'DNS_CONFIG_MISMATCH' 'DNS_CONFIG_INVALID' 'DNS_LOOP_RISK' 'DNS_SERVER_ERROR' 'DNS_SLOW' 'NODELOCALDNS_BROKEN' 'POLICY_DENIED' 'POLICY_DENIED_PORT' 'POLICY_DENIED_EXPLICIT' 'NEIGHBOR_FAILED_PROXY_ARP' 'NO_ROUTE_POD_ROUTE' 'POLICY_ENGINE_DOWN' 'ADDRESS_DADFAILED' 'ADDRESS_TENTATIVE' 'IPV6_RA_IGNORED' 'NEIGHBOR_MAC_MISMATCH_STATIC')
    local -ar ___family=('4' '6')
    local -ar arg_specs=(
        ':fault:{__netdoctor-lab_complete "${_fault[@]}"}'
        '--node[node2\: inject the fault'\''s node2 variant.]:node:'
        '--family[The family the fault breaks, where it has an IPv6 half (default\: IPv4, or IPv6 in an IPv6-only lab).]:4|6:{__netdoctor-lab_complete "${___family[@]}"}'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor-lab_lab_exec() {
    local -i ret=1
    local -ar arg_specs=(
        ':node:'
        '*:command:'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_netdoctor-lab_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _netdoctor-lab ]]; then
    _netdoctor-lab "${@}"
else
    compdef _netdoctor-lab netdoctor-lab
fi

function __netdoctor-lab_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __netdoctor-lab_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __netdoctor-lab_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __netdoctor-lab_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __netdoctor-lab_parse_tokens -S
    set -l unparsed_tokens (__netdoctor-lab_tokens -pc)
    switch $unparsed_tokens[1]
    case 'netdoctor-lab'
        __netdoctor-lab_parse_subcommand 0 'h/help'
        switch $unparsed_tokens[1]
        case 'lab'
            __netdoctor-lab_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'up'
                __netdoctor-lab_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'topology=' 'family=' 'agents' 'watch' 'extra-pods=' 'same-name-pods' 'proxy=' 'extra-services=' 'nodelocaldns' 'policy-engine=' 'kube-proxy-release=' 'h/help'
            case 'down'
                __netdoctor-lab_parse_subcommand 0 'h/help'
            case 'status'
                __netdoctor-lab_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'h/help'
            case 'break'
                __netdoctor-lab_parse_subcommand 1 'node=' 'family=' 'h/help'
            case 'exec'
                __netdoctor-lab_parse_subcommand -r 2 'h/help'
            end
        case 'help'
            __netdoctor-lab_parse_subcommand -r 1 
        end
    end
end

function __netdoctor-lab_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __netdoctor-lab_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __netdoctor-lab_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __netdoctor-lab_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__netdoctor-lab_tokens -p)
    if test -z "$(__netdoctor-lab_tokens -t)"
        set -l index (count (__netdoctor-lab_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'netdoctor-lab' -f
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab" -eq 1' -fa 'lab' -d 'A two-node pod network in network namespaces, wired by the real CNI plugins, to try every command on.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab lab" -eq 1' -fa 'up' -d 'Build the lab (an existing one is removed first).'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab lab" -eq 1' -fa 'down' -d 'Remove everything the lab made.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab lab" -eq 1' -fa 'status' -d 'Show what the lab has: nodes, pods, addresses, faults.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab lab" -eq 1' -fa 'break' -d 'Inject a fault: one per finding code.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab lab" -eq 1' -fa 'exec' -d 'Run a command as if on a lab node (in its namespace, with NETDOCTOR_ROOT at its file tree) or in a pod.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor-lab_complete_directories)'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" topology' -l 'topology' -d 'overlay: a bridge per node and VXLAN between nodes (flannel-like); routed: point-to-point veths and node routes (kindnet-like); calico: /32 pods behind proxy-ARP cali veths, per-pod host routes, per-block routes over vxlan.calico, and felix\'s policy chains.' -rfka 'overlay routed calico'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" family' -l 'family' -d 'The pods\' address families: 4, dual (IPv4 and IPv6: host-local with a range per family, IPv6 routes between nodes, flannel-v6.1 beside flannel.1) or 6 (IPv6 only: the nodes have no IPv4 address either). Every topology; calico\'s policy engines are IPv4\'s.' -rfka '4 dual 6'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" agents' -l 'agents' -d 'Also run `netdoctor agent` on each node (port 9449, a token in /var/lib/netdoctor-lab/agent-token): cross-node traces then see both nodes.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" watch' -l 'watch' -d 'With --agents: the agents watch each other (agent --watch, every 2 s): break a path and the incident appears (netdoctor incidents).'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" extra-pods' -l 'extra-pods' -d 'More pods on node1 (pod-x1 …), up to 200: a node with many pods, for benchmarks.' -rfka ''
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" same-name-pods' -l 'same-name-pods' -d 'Also web-0 in the namespaces staging and prod on node1, as two StatefulSets would have them: reports name each namespace/web-0.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" proxy' -l 'proxy' -d 'Services on both nodes, with rules written as kube-proxy writes them in this mode (iptables or nftables): default/web, default/echo (UDP), default/empty (no endpoints), default/local (externalTrafficPolicy: Local).' -rfka 'iptables nftables'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" extra-services' -l 'extra-services' -d 'With --proxy: this many more Services of three endpoints each in the rules (benchmarks), up to 20000.' -rfka ''
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" nodelocaldns' -l 'nodelocaldns' -d 'With --proxy iptables: NodeLocal DNSCache on each node (a link named nodelocaldns holding 169.254.20.10 and the kube-dns address, node-cache\'s NOTRACK and ACCEPT rules, a DNS server on the node answering there).'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" policy-engine' -l 'policy-engine' -d 'With --topology calico: whose NetworkPolicy chains the nodes carry: calico (felix\'s iptables dataplane), calico-nftables (felix\'s nftables dataplane), kube-router.' -rfka 'calico calico-nftables kube-router kube-network-policies'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" kube-proxy-release' -l 'kube-proxy-release' -d 'With --proxy: the kube-proxy release whose /configz the stand-in serves: 1.33 (DetectLocal.ClusterCIDRs, as since 1.31) or 1.30 (a top-level ClusterCIDR).' -rfka '1.33 1.30'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab up" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab down" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab status" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor-lab_complete_directories)'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab status" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab status" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab status" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_positional "netdoctor-lab lab break" -eq 1' -fka 'LINK_DOWN NO_ROUTE IP_FORWARD_DISABLED NEIGHBOR_FAILED NEIGHBOR_MAC_MISMATCH BRIDGE_PORT_MISSING OVERLAY_FDB_MISSING FIREWALL_DROP DUPLICATE_IP MTU_MISMATCH PMTU_BLACKHOLE LOST_BEYOND_NODE REPLY_MISSING PORT_CLOSED CNI_NO_CONFIG CNI_CONFIG_INVALID CNI_VERSION_UNSUPPORTED CNI_BINARY_MISSING CNI_MULTIPLE_CONFIGS CNI_STALE_CONFIG RUNTIME_CONFIG_INVALID KUBELET_CONFIG_INVALID CNI_MTU_TOO_LARGE SERVICE_NO_ENDPOINTS SERVICE_NOT_PROGRAMMED ENDPOINT_UNREACHABLE STALE_CONNTRACK MASQUERADE_MISSING HAIRPIN_DISABLED PROXY_STALE DNS_SERVER_UNREACHABLE DNS_UDP_BLOCKED DNS_NO_ANSWER DNS_CONFIG_MISMATCH DNS_CONFIG_INVALID DNS_LOOP_RISK DNS_SERVER_ERROR DNS_SLOW NODELOCALDNS_BROKEN POLICY_DENIED POLICY_DENIED_PORT POLICY_DENIED_EXPLICIT NEIGHBOR_FAILED_PROXY_ARP NO_ROUTE_POD_ROUTE POLICY_ENGINE_DOWN ADDRESS_DADFAILED ADDRESS_TENTATIVE IPV6_RA_IGNORED NEIGHBOR_MAC_MISMATCH_STATIC'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab break" node' -l 'node' -d 'node2: inject the fault\'s node2 variant.' -rfka ''
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab break" family' -l 'family' -d 'The family the fault breaks, where it has an IPv6 half (default: IPv4, or IPv6 in an IPv6-only lab).' -rfka '4 6'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab break" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor-lab' -n '__netdoctor-lab_should_offer_completions_for_flags_or_options "netdoctor-lab lab exec" h help' -s 'h' -l 'help' -d 'Show help information.'

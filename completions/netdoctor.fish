function __netdoctor_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __netdoctor_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __netdoctor_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __netdoctor_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __netdoctor_parse_tokens -S
    set -l unparsed_tokens (__netdoctor_tokens -pc)
    switch $unparsed_tokens[1]
    case 'netdoctor'
        __netdoctor_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'check'
            __netdoctor_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'runtime-log=' 'node=' 'agent=' 'token-file=' 'probe' 'probe-timeout=' 'version' 'h/help'
        case 'detect-cni'
            __netdoctor_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'uplink-mtu=' 'no-plugin-query' 'query-plugins' 'version' 'h/help'
        case 'inspect'
            __netdoctor_parse_subcommand 1 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'version' 'h/help'
        case 'mtu-probe'
            __netdoctor_parse_subcommand 2 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'agent=' 'no-agent' 'token-file=' 'tls-ca=' 'tls-server-name=' 'family=' 'timeout=' 'protocol=' 'port=' 'verbose' 'version' 'h/help'
        case 'trace'
            __netdoctor_parse_subcommand 2 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'agent=' 'no-agent' 'token-file=' 'tls-ca=' 'tls-server-name=' 'port=' 'protocol=' 'timeout=' 'family=' 'trace-rules' 'drop-reasons' 'version' 'h/help'
        case 'services'
            __netdoctor_parse_subcommand 1 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'proxy-mode=' 'version' 'h/help'
        case 'dns'
            __netdoctor_parse_subcommand 2 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'timeout=' 'slow=' 'version' 'h/help'
        case 'policy'
            __netdoctor_parse_subcommand 1 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'version' 'h/help'
        case 'capture'
            __netdoctor_parse_subcommand -r 1 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'filter=' 'count=' 'duration=' 'write=' 'buffer-size=' 'immediate' 'version' 'h/help'
        case 'agent'
            __netdoctor_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'watch' 'watch-interval=' 'watch-jitter=' 'watch-timeout=' 'watch-peers=' 'watch-nodes=' 'watch-dns=' 'watch-service=' 'watch-incidents=' 'incidents-file=' 'listen=' 'token-file=' 'tls-cert=' 'tls-key=' 'node-name=' 'max-capture-seconds=' 'max-captures=' 'read-timeout=' 'version' 'h/help'
        case 'incidents'
            __netdoctor_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'node=' 'agent=' 'token-file=' 'version' 'h/help'
        case 'lab'
            __netdoctor_parse_subcommand -r 1 'version' 'h/help'
        case 'explain'
            __netdoctor_parse_subcommand 1 'root=' 'o/output=' 'no-color' 'runtime-endpoint=' 'markdown' 'version' 'h/help'
        case 'help'
            __netdoctor_parse_subcommand -r 1 'version'
        end
    end
end

function __netdoctor_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __netdoctor_parse_subcommand -S -a positional_count
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

function __netdoctor_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __netdoctor_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__netdoctor_tokens -p)
    if test -z "$(__netdoctor_tokens -t)"
        set -l index (count (__netdoctor_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'netdoctor' -f
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'check' -d 'The whole node\'s pod network judged at once, including what breaks before a pod has a network.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'detect-cni' -d 'Which CNI config the runtime really loads, its chain, IPAM, MTU, encapsulation, and every problem.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'inspect' -d 'A pod\'s (or the node\'s) network namespace as the kernel sees it.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'mtu-probe' -d 'The real path MTU between pods, MTU mismatches and PMTU black holes.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'trace' -d 'Can SRC reach DST, and if not, where and why.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'services' -d 'The node\'s Services as kube-proxy programmed them: frontends, endpoints and where they are, problems.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'dns' -d 'A pod\'s DNS as the pod sees it: its resolv.conf, the queries its resolver sends for NAME, each nameserver\'s answers, and what is wrong.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'policy' -d 'The NetworkPolicies that select a pod on this node, per direction, as its policy engine programmed them, with their counters.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'capture' -d 'libpcap capture in pod and node namespaces, several points at once, pcapng files.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'agent' -d 'Serve this node\'s view to netdoctor on other nodes (cluster mode; runs as a DaemonSet).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'incidents' -d 'The incidents a watching agent (agent --watch) kept: each failed probe with the full trace that explained it.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'lab' -d 'A two-node pod network in network namespaces, wired by the real CNI plugins, to try every command on (netdoctor-lab, installed beside netdoctor).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'explain' -d 'What a finding code means, how netdoctor decides it, and what to do.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" runtime-log' -l 'runtime-log' -d 'The container runtime\'s log file on this machine, when it does not log to the journal (k3s\'s and rke2\'s are found by themselves).' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" node' -l 'node' -d 'Ask this node\'s agent instead (its address or a name that resolves to it; port 9449).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" agent' -l 'agent' -d 'The agent to ask, when not at the node\'s address and port.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" token-file' -l 'token-file' -d 'The agents\' bearer token (env NETDOCTOR_TOKEN_FILE).' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" probe' -l 'probe' -d 'Also probe: the MTU sweep and a DNS lookup of kubernetes.default from the node\'s first pod, and the health of each peer node\'s agent (with a token).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" probe-timeout' -l 'probe-timeout' -d 'With --probe: how long each MTU probe waits for its answer, in milliseconds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" uplink-mtu' -l 'uplink-mtu' -d 'Judge the pod MTU against this uplink MTU instead of the default route device\'s.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" no-plugin-query' -l 'no-plugin-query' -d 'Do not run the active chain\'s plugins with CNI_COMMAND=VERSION to check their supported versions.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" query-plugins' -l 'query-plugins' -d 'Run them also under a --root other than / (a tree you trust: its programs run as you).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor inspect" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor inspect" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor inspect" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor inspect" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor inspect" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor inspect" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" agent' -l 'agent' -d 'The remote node\'s agent, when not at that node\'s address and port 9449.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" no-agent' -l 'no-agent' -d 'Do not ask the remote node\'s agent: this node\'s view only.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" token-file' -l 'token-file' -d 'The agents\' bearer token (env NETDOCTOR_TOKEN_FILE).' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" tls-ca' -l 'tls-ca' -d 'CA bundle to verify the agents\' HTTPS certificates by (env NETDOCTOR_TLS_CA); without it, plain HTTP.' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" tls-server-name' -l 'tls-server-name' -d 'The name in the agents\' certificate, when it is not the node\'s IP.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" family' -l 'family' -d 'Probe only this family (default: every family both ends have; path MTU is per family).' -rfka '4 6'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" timeout' -l 'timeout' -d 'How long to wait for each probe\'s fate, in milliseconds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" protocol' -l 'protocol' -d 'icmp: echo requests (default; their replies are not rate-limited); udp: to a closed port, as tracepath does.' -rfka 'icmp udp'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" port' -l 'port' -d 'The UDP port probed with --protocol udp (a closed port: the destination answers ICMP port unreachable).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" verbose' -l 'verbose' -d 'Show every probe and interface in the human output.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor mtu-probe" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" agent' -l 'agent' -d 'The remote node\'s agent, when not at that node\'s address and port 9449.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" no-agent' -l 'no-agent' -d 'Do not ask the remote node\'s agent: this node\'s view only.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" token-file' -l 'token-file' -d 'The agents\' bearer token (env NETDOCTOR_TOKEN_FILE).' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" tls-ca' -l 'tls-ca' -d 'CA bundle to verify the agents\' HTTPS certificates by (env NETDOCTOR_TLS_CA); without it, plain HTTP.' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" tls-server-name' -l 'tls-server-name' -d 'The name in the agents\' certificate, when it is not the node\'s IP.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" port' -l 'port' -d 'Probe this port (TCP by default when given).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" protocol' -l 'protocol' -d 'icmp (default), tcp (default with --port; port 80 without one) or udp (needs --port).' -rfka 'icmp tcp udp'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" timeout' -l 'timeout' -d 'How long the probe waits for an answer, in milliseconds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" family' -l 'family' -d 'Trace only this family (default: every family both ends have).' -rfka '4 6'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" trace-rules' -l 'trace-rules' -d 'Trace the request through nf_tables (nftrace) in each namespace on this node\'s part of the path, and list every rule it met with its table, chain, handle, verdict and comment. Adds a table of netdoctor\'s own (netdoctor-trace-PID-N) for the probe and removes it after, also on Ctrl-C; without this flag trace changes nothing.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" drop-reasons' -l 'drop-reasons' -d 'Ask the kernel why it dropped the probe: a BPF program of netdoctor\'s own on the skb:kfree_skb tracepoint, filtered in the kernel to the probe\'s packets, reports each drop\'s reason (named from the kernel\'s BTF), function, interface and namespace. Loaded for the probe only and removed after; it lives only as this process\'s file descriptors, so nothing is left behind even if the run is killed. Needs root, libbpf and a kernel with BTF (5.17+).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor trace" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" proxy-mode' -l 'proxy-mode' -d 'Read this proxy mode\'s rules instead of asking kube-proxy and the kernel which.' -rfka 'iptables nftables ipvs cilium'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor services" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" timeout' -l 'timeout' -d 'How long each query waits for its answer, in milliseconds (default: the resolv.conf\'s timeout).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" slow' -l 'slow' -d 'An answer slower than this is DNS_SLOW, in milliseconds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor dns" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor policy" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor policy" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor policy" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor policy" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor policy" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor policy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" filter' -l 'filter' -d 'A pcap-filter expression (as tcpdump takes), applied at every point.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" count' -l 'count' -d 'Stop after this many packets (over all points).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" duration' -l 'duration' -d 'Stop after this many seconds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" write' -l 'write' -d 'Write a pcapng file instead of printing packets.' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" buffer-size' -l 'buffer-size' -d 'The kernel buffer per point, in MiB (larger for floods).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" immediate' -l 'immediate' -d 'With --write, still hand over each packet as it comes (immediate mode) instead of in blocks.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor capture" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch' -l 'watch' -d 'Probe peers continuously: each interval, the next --watch-peers nodes on a ring by name hash (their agent, and a pod of each with an ICMP echo of the full pod MTU with DF set); a failure is explained by a full trace and kept as an incident (/v1/incidents); metrics at /metrics.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-interval' -l 'watch-interval' -d 'Seconds between probe rounds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-jitter' -l 'watch-jitter' -d 'Each round\'s wait stretched or shrunk by up to this fraction, so that agents started together drift apart.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-timeout' -l 'watch-timeout' -d 'How long a watch probe waits for its answer.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-peers' -l 'watch-peers' -d 'Peers each node probes: the next N on the ring.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-nodes' -l 'watch-nodes' -d 'More node addresses to watch beside those this node\'s routes and overlay entries lead to (comma-separated).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-dns' -l 'watch-dns' -d 'A name to look up from a local pod each round, as its resolver would (e.g. kubernetes.default).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-service' -l 'watch-service' -d 'A Service to connect to from a local pod each round (ADDR:PORT or NAMESPACE/NAME[:PORT]).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" watch-incidents' -l 'watch-incidents' -d 'Incidents kept (the oldest go first).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" incidents-file' -l 'incidents-file' -d 'File keeping the incidents across restarts (a hostPath in the DaemonSet); none: memory only.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" listen' -l 'listen' -d 'Address and port to listen on (the node\'s address; 0.0.0.0 for all, [::] for all of both families; port 0: any free port, logged). A comma-separated list listens on each: a dual-stack node\'s addresses, as the downward API\'s status.hostIPs gives them (an address without a port gets 9449).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" token-file' -l 'token-file' -d 'File holding the bearer token callers must send (env NETDOCTOR_TOKEN_FILE).' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" tls-cert' -l 'tls-cert' -d 'PEM certificate (chain) to serve HTTPS with.' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" tls-key' -l 'tls-key' -d 'PEM private key of --tls-cert.' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" node-name' -l 'node-name' -d 'How this node is named in other nodes\' traces (env NODE_NAME; default: the host name).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" max-capture-seconds' -l 'max-capture-seconds' -d 'The longest capture a caller may ask for, in seconds.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" max-captures' -l 'max-captures' -d 'Captures that may run at once.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" read-timeout' -l 'read-timeout' -d 'Seconds a request\'s head and body may take to arrive (slow clients are cut off).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor agent" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" node' -l 'node' -d 'Only incidents about this node (by name).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" agent' -l 'agent' -d 'The agent to ask (default: this node\'s, at its address).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" token-file' -l 'token-file' -d 'The agents\' bearer token (env NETDOCTOR_TOKEN_FILE).' -rF
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor incidents" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor lab" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor lab" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" runtime-endpoint' -l 'runtime-endpoint' -d 'The container runtime\'s CRI socket, unix:///path, or none (env NETDOCTOR_RUNTIME_ENDPOINT; default: the kubelet\'s, under --root).' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" markdown' -l 'markdown' -d 'Print the whole catalogue as Markdown (docs/findings.md).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor help" version' -l 'version' -d 'Show the version.'

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
        case 'detect-cni'
            __netdoctor_parse_subcommand 0 'root=' 'o/output=' 'no-color' 'uplink-mtu=' 'no-plugin-query' 'version' 'h/help'
        case 'explain'
            __netdoctor_parse_subcommand 1 'markdown' 'version' 'h/help'
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
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'detect-cni' -d 'Which CNI config the runtime really loads, its chain, IPAM, MTU, encapsulation, and every problem.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'explain' -d 'What a finding code means, how netdoctor decides it, and what to do.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_positional "netdoctor" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" root' -l 'root' -d 'Prefix for every node file read (env NETDOCTOR_ROOT).' -rfa '(__netdoctor_complete_directories)'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" o output' -s 'o' -l 'output' -d 'Output format: human or json (one JSON document on stdout).' -rfka 'human json'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" no-color' -l 'no-color' -d 'Plain text without colour (also when NO_COLOR is set).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" uplink-mtu' -l 'uplink-mtu' -d 'Judge the pod MTU against this uplink MTU instead of the default route device\'s.' -rfka ''
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" no-plugin-query' -l 'no-plugin-query' -d 'Do not run the active chain\'s plugins with CNI_COMMAND=VERSION to check their supported versions.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor detect-cni" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" markdown' -l 'markdown' -d 'Print the whole catalogue as Markdown (docs/findings.md).'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" version' -l 'version' -d 'Show the version.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor explain" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'netdoctor' -n '__netdoctor_should_offer_completions_for_flags_or_options "netdoctor help" version' -l 'version' -d 'Show the version.'

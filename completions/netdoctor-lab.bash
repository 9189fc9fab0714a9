#!/bin/bash

__netdoctor-lab_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__netdoctor-lab_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__netdoctor-lab_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__netdoctor-lab_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_netdoctor-lab() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(-h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __netdoctor-lab_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    lab|help)
        # Offer subcommand argument completions
        "_netdoctor-lab_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'lab help' -- "${cur}"))
        ;;
    esac
}

_netdoctor-lab_lab() {
    repeating_flags=()
    non_repeating_flags=(-h --help)
    repeating_options=()
    non_repeating_options=()
    __netdoctor-lab_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    up|down|status|break|exec)
        # Offer subcommand argument completions
        "_netdoctor-lab_lab_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'up down status break exec' -- "${cur}"))
        ;;
    esac
}

_netdoctor-lab_lab_up() {
    repeating_flags=()
    non_repeating_flags=(--no-color --agents --watch --same-name-pods --nodelocaldns -h --help)
    repeating_options=()
    non_repeating_options=(--root -o --output --runtime-endpoint --topology --family --extra-pods --proxy --extra-services --policy-engine --kube-proxy-release)
    __netdoctor-lab_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--root')
        __netdoctor-lab_add_completions -d
        return
        ;;
    '-o'|'--output')
        __netdoctor-lab_add_completions -W 'human'$'\n''json'
        return
        ;;
    '--runtime-endpoint')
        return
        ;;
    '--topology')
        __netdoctor-lab_add_completions -W 'overlay'$'\n''routed'$'\n''calico'
        return
        ;;
    '--family')
        __netdoctor-lab_add_completions -W '4'$'\n''dual'$'\n''6'
        return
        ;;
    '--extra-pods')
        return
        ;;
    '--proxy')
        __netdoctor-lab_add_completions -W 'iptables'$'\n''nftables'
        return
        ;;
    '--extra-services')
        return
        ;;
    '--policy-engine')
        __netdoctor-lab_add_completions -W 'calico'$'\n''calico-nftables'$'\n''kube-router'$'\n''kube-network-policies'
        return
        ;;
    '--kube-proxy-release')
        __netdoctor-lab_add_completions -W '1.33'$'\n''1.30'
        return
        ;;
    esac
}

_netdoctor-lab_lab_down() {
    repeating_flags=()
    non_repeating_flags=(-h --help)
    repeating_options=()
    non_repeating_options=()
    __netdoctor-lab_offer_flags_options 0
}

_netdoctor-lab_lab_status() {
    repeating_flags=()
    non_repeating_flags=(--no-color -h --help)
    repeating_options=()
    non_repeating_options=(--root -o --output --runtime-endpoint)
    __netdoctor-lab_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--root')
        __netdoctor-lab_add_completions -d
        return
        ;;
    '-o'|'--output')
        __netdoctor-lab_add_completions -W 'human'$'\n''json'
        return
        ;;
    '--runtime-endpoint')
        return
        ;;
    esac
}

_netdoctor-lab_lab_break() {
    repeating_flags=()
    non_repeating_flags=(-h --help)
    repeating_options=()
    non_repeating_options=(--node --family)
    __netdoctor-lab_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--node')
        return
        ;;
    '--family')
        __netdoctor-lab_add_completions -W '4'$'\n''6'
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __netdoctor-lab_add_completions -W 'LINK_DOWN'$'\n''NO_ROUTE'$'\n''IP_FORWARD_DISABLED'$'\n''NEIGHBOR_FAILED'$'\n''NEIGHBOR_MAC_MISMATCH'$'\n''BRIDGE_PORT_MISSING'$'\n''OVERLAY_FDB_MISSING'$'\n''FIREWALL_DROP'$'\n''DUPLICATE_IP'$'\n''MTU_MISMATCH'$'\n''PMTU_BLACKHOLE'$'\n''LOST_BEYOND_NODE'$'\n''REPLY_MISSING'$'\n''PORT_CLOSED'$'\n''CNI_NO_CONFIG'$'\n''CNI_CONFIG_INVALID'$'\n''CNI_VERSION_UNSUPPORTED'$'\n''CNI_BINARY_MISSING'$'\n''CNI_MULTIPLE_CONFIGS'$'\n''CNI_STALE_CONFIG'$'\n''RUNTIME_CONFIG_INVALID'$'\n''KUBELET_CONFIG_INVALID'$'\n''CNI_MTU_TOO_LARGE'$'\n''SERVICE_NO_ENDPOINTS'$'\n''SERVICE_NOT_PROGRAMMED'$'\n''ENDPOINT_UNREACHABLE'$'\n''STALE_CONNTRACK'$'\n''MASQUERADE_MISSING'$'\n''HAIRPIN_DISABLED'$'\n''PROXY_STALE'$'\n''DNS_SERVER_UNREACHABLE'$'\n''DNS_UDP_BLOCKED'$'\n''DNS_NO_ANSWER'$'\n''DNS_CONFIG_MISMATCH'$'\n''DNS_CONFIG_INVALID'$'\n''DNS_LOOP_RISK'$'\n''DNS_SERVER_ERROR'$'\n''DNS_SLOW'$'\n''NODELOCALDNS_BROKEN'$'\n''POLICY_DENIED'$'\n''POLICY_DENIED_PORT'$'\n''POLICY_DENIED_EXPLICIT'$'\n''NEIGHBOR_FAILED_PROXY_ARP'$'\n''NO_ROUTE_POD_ROUTE'$'\n''POLICY_ENGINE_DOWN'$'\n''ADDRESS_DADFAILED'$'\n''ADDRESS_TENTATIVE'$'\n''IPV6_RA_IGNORED'$'\n''NEIGHBOR_MAC_MISMATCH_STATIC'
        return
        ;;
    esac
}

_netdoctor-lab_lab_exec() {
    repeating_flags=()
    non_repeating_flags=(-h --help)
    repeating_options=()
    non_repeating_options=()
    __netdoctor-lab_offer_flags_options -1
}

_netdoctor-lab_help() {
    :
}

complete -o filenames -F _netdoctor-lab netdoctor-lab

# bash completion for cacheman(1)                                  -*- shell-script -*-
#
# Commands and options are static (tests/e2e/test_docs.py checks them against
# 'cacheman --help'). Namespaces, cache names and keys are asked of the binary,
# with 'cacheman [--dir DIR] [--store URL] [--namespace NS] __complete
# namespaces|caches|keys CACHE', on the store that the --dir, --store and
# -n/--namespace options already typed on the line select; that hidden command never
# runs a hook, creates nothing and prints nothing on errors (nor when the --store
# server cannot be reached).
# Meant for the bash-completion package (installed into its completionsdir as
# 'cacheman'); sourced without it, it still works, except for the --dir=DIR,
# --store=URL and --namespace=NS spellings and names that hold ':' or '=' (a --store
# URL, which holds ':', must then be quoted: --store 'postgresql://...').

# Sets REPLY to $1 without its shell quoting ('...', "...", backslashes), so that a
# name typed as 'my cache' or my\ cache is passed to cacheman as my cache. No eval.
_cacheman_dequote() {
    local s=$1 out='' c quote='' k
    for ((k = 0; k < ${#s}; k++)); do
        c=${s:k:1}
        if [[ $quote == "'" ]]; then
            if [[ $c == "'" ]]; then quote=''; else out+=$c; fi
        elif [[ $quote == '"' ]]; then
            if [[ $c == '"' ]]; then
                quote=''
            elif [[ $c == '\' && ${s:k+1:1} == [\"\\\$\`] ]]; then
                ((k++))
                out+=${s:k:1}
            else
                out+=$c
            fi
        else
            case $c in
                \' | \") quote=$c ;;
                \\)
                    ((k++))
                    out+=${s:k:1}
                    ;;
                *) out+=$c ;;
            esac
        fi
    done
    REPLY=$out
}

# Prints the candidates of 'cacheman __complete "$@"' for the selected store, one per
# line (uses $dir, $store_url and $ns from _cacheman).
_cacheman_ask() {
    local bin=cacheman
    # The binary being completed when typed as a path (./build/cli/cacheman).
    [[ ${words[0]} == */* ]] && bin=${words[0]/#\~/$HOME}
    local -a store=()
    # The --opt=value spelling, so that a value that starts with '-' stays a value.
    [[ -n $dir ]] && store+=("--dir=${dir/#\~/$HOME}")
    [[ -n $store_url ]] && store+=("--store=$store_url")
    [[ -n $ns ]] && store+=("--namespace=$ns")
    "$bin" "${store[@]}" __complete "$@" 2>/dev/null </dev/null
}

# Adds to COMPREPLY the candidates of 'cacheman __complete "$@"' that start with the
# current word. Outside quotes they are shell-quoted (printf %q), so 'my cache'
# completes as my\ cache; after an opening quote, readline replaces only the text
# after it.
_cacheman_candidates() {
    local name quoted
    while IFS= read -r name; do
        if [[ $cur == [\'\"]* ]]; then
            [[ $name == "${cur:1}"* ]] && COMPREPLY+=("$name")
            continue
        fi
        printf -v quoted '%q' "$name"
        if [[ $name == "$cur"* || $quoted == "$cur"* ]]; then
            COMPREPLY+=("$quoted")
        fi
    done < <(_cacheman_ask "$@")
    if declare -F __ltrim_colon_completions >/dev/null; then
        __ltrim_colon_completions "$cur"
    fi
}

_cacheman_caches() {
    _cacheman_candidates caches
}

# Adds the keys of the cache named by the word $1, as typed on the line.
_cacheman_keys() {
    local REPLY
    _cacheman_dequote "$1"
    [[ -n $REPLY ]] && _cacheman_candidates keys "$REPLY"
}

_cacheman_namespaces() {
    _cacheman_candidates namespaces
}

# Sets COMPREPLY to files, or with -d to directories.
_cacheman_files() {
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
        return
    fi
    local IFS=$'\n'
    if [[ ${1-} == -d ]]; then
        COMPREPLY=($(compgen -d -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
    compopt -o filenames 2>/dev/null
}

# Completes what follows 'run' (words[$1]): its options and their values, then
# the program to memoize, then that program's arguments, as its own completion
# would (with bash-completion) or as files.
_cacheman_run() {
    local i=$(($1 + 1)) w after_dashdash=false
    while ((i < cword)); do
        w=${words[i]}
        case $w in
            --)
                after_dashdash=true
                ((i++))
                break
                ;;
            --cache | --ttl | --stale | --watch | --output | --env | --key | --max-age | --root | --dir | \
                --store | -n | --namespace) ((i += 2)) ;;
            -*) ((i++)) ;;
            *) break ;;
        esac
    done
    if ((i > cword)) || [[ $split == true ]]; then
        # The current word is the value of the option before it.
        case $prev in
            --cache) _cacheman_caches ;;
            --watch | --output) _cacheman_files ;;
            --root) COMPREPLY=($(compgen -d -- "$cur")) ;;
            --env) COMPREPLY=($(compgen -e -- "$cur")) ;;
        esac
    elif ((i < cword)); then
        if declare -F _command_offset >/dev/null; then
            _command_offset $((i + COMP_CWORD - cword))
        else
            _cacheman_files
        fi
    elif [[ $cur == -* ]] && ! $after_dashdash; then
        COMPREPLY=($(compgen -W '-h --help --cache --ttl --stale --watch --output --env --key --root --stdin
            --max-age --cache-failures --replay-only --force --explain' -- "$cur"))
    else
        COMPREPLY=($(compgen -c -- "$cur"))
    fi
}

_cacheman() {
    local cur prev words cword split=false
    if declare -F _init_completion >/dev/null; then
        _init_completion -s -n : || return
    else
        COMPREPLY=()
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
    fi

    local commands='set get del keys list depend undepend invalidate drop export import deps run
        create show rebuild reload save stats graph why log check gc copy completions help'
    local globals='--dir --store -n --namespace --json -q --quiet -v --verbose --version -h --help'
    # Global options are accepted after the command too (but for run).
    local globals_after='--dir --store -n --namespace --json -q --quiet -v --verbose'
    # Options of create that take a value: a shell command, a duration, checks or a limit.
    local create_values='--builder --loader --saver --validator --deleter --pre-processor
        --post-processor --ttl --autosync-checks --max-entries --max-bytes'

    # Find the command, its arguments before the cursor, and the store that --dir,
    # --store and -n select.
    local i w cmd='' dir='' store_url='' ns='' dashdash=false REPLY
    local -a args=()
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $cmd == run ]]; then
            _cacheman_run $((i - 1))
            return
        fi
        if $dashdash; then
            if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi
            continue
        fi
        case $w in
            --) dashdash=true ;;
            --dir | --store | -n | --namespace | --ttl | --builder | --loader | --saver | \
                --validator | --deleter | --pre-processor | --post-processor | --autosync-checks | \
                --format | --limit | --max-entries | --max-bytes)
                if ((i + 1 < cword)); then
                    _cacheman_dequote "${words[i + 1]}"
                    case $w in
                        --dir) dir=$REPLY ;;
                        --store) store_url=$REPLY ;;
                        -n | --namespace) ns=$REPLY ;;
                    esac
                fi
                ((i++))
                ;;
            --dir=*)
                _cacheman_dequote "${w#--dir=}"
                dir=$REPLY
                ;;
            --store=*)
                _cacheman_dequote "${w#--store=}"
                store_url=$REPLY
                ;;
            --namespace=*)
                _cacheman_dequote "${w#--namespace=}"
                ns=$REPLY
                ;;
            -n?*)
                _cacheman_dequote "${w#-n}"
                ns=$REPLY
                ;;
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=$w; else args+=("$w"); fi ;;
        esac
    done
    if [[ $cmd == run ]]; then
        _cacheman_run $((cword - 1))
        return
    fi
    local npos=${#args[@]}

    if ! $dashdash; then
        case $prev in
            --dir | --to | --from)
                # A directory (copy: or a postgresql:// URL, not completed).
                _cacheman_files -d
                return
                ;;
            -n | --namespace)
                _cacheman_namespaces
                return
                ;;
            --format)
                COMPREPLY=($(compgen -W 'dot json' -- "$cur"))
                return
                ;;
            --store | --ttl | --autosync-checks | --limit | --max-entries | --max-bytes)
                # A postgresql:// URL, a duration, WINDOW:EDITS checks, a number or a size:
                # nothing to complete.
                return
                ;;
            --builder | --loader | --saver | --validator | --deleter | --pre-processor | \
                --post-processor)
                # A shell command: complete its first word as a command name.
                COMPREPLY=($(compgen -c -- "$cur"))
                return
                ;;
        esac
        if [[ $cur == -* ]]; then
            local opts=$globals
            if [[ -n $cmd ]]; then
                opts="-h --help $globals_after"
                case $cmd in
                    set) opts+=' --ttl' ;;
                    keys) opts+=' -0 --null' ;;
                    invalidate) opts+=' --dry-run' ;;
                    deps) opts+=' --all' ;;
                    create) opts+=" $create_values --volatile --no-volatile --autosync --no-autosync" ;;
                    reload | save) opts+=' --cascade' ;;
                    graph) opts+=' --format' ;;
                    log) opts+=' --limit' ;;
                    gc) opts+=' --max-bytes' ;;
                    copy) opts+=' --to --from --replace' ;;
                esac
            fi
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            return
        fi
    fi

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return
    fi

    case $cmd in
        get | invalidate)
            if ((npos == 0)); then
                _cacheman_caches
            elif ((npos == 1)); then
                _cacheman_keys "${args[0]}"
            fi
            ;;
        del)
            if ((npos == 0)); then
                _cacheman_caches
            else
                _cacheman_keys "${args[0]}"
            fi
            ;;
        set | keys | drop | export | deps | create | show | rebuild | reload | save | stats | \
            why | log)
            ((npos == 0)) && _cacheman_caches
            ;;
        depend | undepend)
            ((npos <= 1)) && _cacheman_caches
            ;;
        import)
            if ((npos == 0)); then
                _cacheman_caches
            elif ((npos == 1)); then
                _cacheman_files
            fi
            ;;
        completions)
            ((npos == 0)) && COMPREPLY=($(compgen -W 'bash zsh fish' -- "$cur"))
            ;;
        help)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            ;;
    esac
    return 0
}

complete -F _cacheman cacheman

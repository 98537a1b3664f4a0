# bash completion for cacheman(1)                                  -*- shell-script -*-
#
# Commands and options are static (tests/e2e/test_docs.py checks them against
# 'cacheman --help'); cache names come from 'cacheman list', run on the store that
# the --dir and -n/--namespace options already typed on the line select.
# Meant for the bash-completion package (installed into its completionsdir as
# 'cacheman'); sourced without it, it still works, except for the --dir=DIR and
# --namespace=NS spellings and cache names that hold ':' or '='.

# Prints the cache names of the selected store, one per line.
_cacheman_list_caches() {
    local bin=cacheman
    # The binary being completed when typed as a path (./build/cli/cacheman).
    [[ ${words[0]} == */* ]] && bin=${words[0]/#\~/$HOME}
    local -a store=()
    [[ -n $dir ]] && store+=(--dir "${dir/#\~/$HOME}")
    [[ -n $ns ]] && store+=(--namespace "$ns")
    "$bin" "${store[@]}" list 2>/dev/null </dev/null
}

# Adds to COMPREPLY the cache names that start with the current word. Outside
# quotes they are shell-quoted (printf %q), so 'my cache' completes as my\ cache;
# after an opening quote, readline replaces only the text after it.
_cacheman_caches() {
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
    done < <(_cacheman_list_caches)
    if declare -F __ltrim_colon_completions >/dev/null; then
        __ltrim_colon_completions "$cur"
    fi
}

# Sets COMPREPLY to the namespaces (store files) in the selected directory.
_cacheman_namespaces() {
    local d=${dir:-${CACHEMAN_DIR:-${XDG_CACHE_HOME:+$XDG_CACHE_HOME/cacheman}}}
    d=${d:-$HOME/.cache/cacheman}
    d=${d/#\~/$HOME}
    local file name
    for file in "$d"/*.sqlite; do
        [[ -f $file ]] || continue
        name=${file##*/}
        name=${name%.sqlite}
        [[ $name == "$cur"* ]] && COMPREPLY+=("$name")
    done
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
            --cache | --ttl | --stale | --watch | --env | --key) ((i += 2)) ;;
            -*) ((i++)) ;;
            *) break ;;
        esac
    done
    if ((i > cword)) || [[ $split == true ]]; then
        # The current word is the value of the option before it.
        case $prev in
            --cache) _cacheman_caches ;;
            --watch) _cacheman_files ;;
            --env) COMPREPLY=($(compgen -e -- "$cur")) ;;
        esac
    elif ((i < cword)); then
        if declare -F _command_offset >/dev/null; then
            _command_offset $((i + COMP_CWORD - cword))
        else
            _cacheman_files
        fi
    elif [[ $cur == -* ]] && ! $after_dashdash; then
        COMPREPLY=($(compgen -W '-h --help --cache --ttl --stale --watch --env --key
            --cache-failures --force --explain' -- "$cur"))
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
        create show rebuild reload save help'
    local globals='--dir -n --namespace --json -q --quiet -v --verbose --version -h --help'
    # Global options are accepted after the command too (but for run).
    local globals_after='--dir -n --namespace --json -q --quiet -v --verbose'
    # Options of create that take a value: a shell command, a duration or checks.
    local create_values='--builder --loader --saver --validator --deleter --pre-processor
        --post-processor --ttl --autosync-checks'

    # Find the command, how many of its arguments come before the cursor, and the
    # store that --dir and -n select.
    local i w cmd='' npos=0 dir='' ns='' dashdash=false
    for ((i = 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $cmd == run ]]; then
            _cacheman_run $((i - 1))
            return
        fi
        if $dashdash; then
            if [[ -z $cmd ]]; then cmd=$w; else ((npos++)); fi
            continue
        fi
        case $w in
            --) dashdash=true ;;
            --dir | -n | --namespace | --ttl | --builder | --loader | --saver | --validator | \
                --deleter | --pre-processor | --post-processor | --autosync-checks)
                if ((i + 1 < cword)); then
                    case $w in
                        --dir) dir=${words[i + 1]} ;;
                        -n | --namespace) ns=${words[i + 1]} ;;
                    esac
                fi
                ((i++))
                ;;
            --dir=*) dir=${w#--dir=} ;;
            --namespace=*) ns=${w#--namespace=} ;;
            -n?*) ns=${w#-n} ;;
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=$w; else ((npos++)); fi ;;
        esac
    done
    if [[ $cmd == run ]]; then
        _cacheman_run $((cword - 1))
        return
    fi

    if ! $dashdash; then
        case $prev in
            --dir)
                _cacheman_files -d
                return
                ;;
            -n | --namespace)
                _cacheman_namespaces
                return
                ;;
            --ttl | --autosync-checks)
                # A duration, or WINDOW:EDITS checks: nothing to complete.
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
        set | get | del | keys | invalidate | drop | export | deps | create | show | rebuild | reload | save)
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
        help)
            ((npos == 0)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            ;;
    esac
    return 0
}

complete -F _cacheman cacheman

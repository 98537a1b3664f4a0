# fish completion for cacheman(1).
#
# Commands and options are static (tests/e2e/test_docs.py checks them against
# 'cacheman --help'). Namespaces, cache names and keys are asked of the binary, with
# 'cacheman [--dir DIR] [--store URL] [--namespace NS] __complete
# namespaces|caches|keys CACHE', on the store that the --dir, --store and
# -n/--namespace options already typed on the line select; that hidden command never
# runs a hook, creates nothing and prints nothing on errors (nor when the --store
# server cannot be reached).
# Install as cacheman.fish in fish's vendor_completions.d.

# Parses the tokens before the cursor. Prints four lines: the command (or
# nothing), the number of its arguments already typed, 1 after a '--', and its
# first argument (or nothing).
function __cacheman_parse
    set -l tokens (commandline -opc)
    set -l cmd
    set -l first
    set -l npos 0
    set -l dashdash 0
    set -l skip 0
    for tok in $tokens[2..-1]
        # What follows run is run's business (see __cacheman_run_program).
        test "$cmd" = run; and break
        if test $skip -eq 1
            set skip 0
            continue
        end
        if test $dashdash -eq 0
            switch $tok
                case --
                    set dashdash 1
                    continue
                case --dir --store --to --from -n --namespace --ttl --builder --loader --saver --validator --deleter \
                    --pre-processor --post-processor --autosync-checks --format --limit --max-entries --max-bytes
                    set skip 1
                    continue
                case '-*'
                    continue
            end
        end
        if test -z "$cmd"
            set cmd $tok
        else
            test $npos -eq 0; and set first $tok
            set npos (math $npos + 1)
        end
    end
    printf '%s\n' "$cmd" $npos $dashdash "$first"
end

# Prints the --dir, --store and --namespace options typed on the line, one word a
# line.
function __cacheman_store_options
    set -l tokens (commandline -opc)
    set -l dir
    set -l store
    set -l ns
    set -l i 2
    while test $i -le (count $tokens)
        set -l tok $tokens[$i]
        set -l next
        test $i -lt (count $tokens); and set next $tokens[(math $i + 1)]
        switch $tok
            case --
                break
            case --dir
                set dir $next
                set i (math $i + 1)
            case --store
                set store $next
                set i (math $i + 1)
            case -n --namespace
                set ns $next
                set i (math $i + 1)
            case '--dir=*'
                set dir (string replace -- --dir= '' $tok)
            case '--store=*'
                set store (string replace -- --store= '' $tok)
            case '--namespace=*'
                set ns (string replace -- --namespace= '' $tok)
            case '-n?*'
                set ns (string sub -s 3 -- $tok)
        end
        set i (math $i + 1)
    end
    # The --opt=value spelling, so that a value that starts with '-' stays a value.
    if test -n "$dir"
        printf '%s\n' --dir=(string replace -r '^~(?=/|$)' $HOME -- $dir)
    end
    if test -n "$store"
        printf '%s\n' --store=$store
    end
    if test -n "$ns"
        printf '%s\n' --namespace=$ns
    end
end

# Prints the candidates of 'cacheman __complete $argv' for the store selected on
# the line, one per line.
function __cacheman_ask
    set -l bin cacheman
    # The binary being completed when typed as a path (./build/cli/cacheman).
    set -l first (commandline -opc)[1]
    if string match -q '*/*' -- $first
        set bin (string replace -r '^~(?=/)' $HOME -- $first)
    end
    $bin (__cacheman_store_options) __complete $argv 2>/dev/null </dev/null
end

function __cacheman_caches
    __cacheman_ask caches
end

# The keys of the cache that is the command's first argument.
function __cacheman_keys
    set -l state (__cacheman_parse)
    test -n "$state[4]"; or return
    __cacheman_ask keys $state[4]
end

function __cacheman_namespaces
    __cacheman_ask namespaces
end

# For run: prints the words of the program to memoize typed before the cursor
# (none when the cursor is on its name); fails when the cursor is not in the
# program (but on an option of run or its value).
function __cacheman_run_program
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --dir --store -n --namespace
                set i (math $i + 2)
            case '-*'
                set i (math $i + 1)
            case '*'
                break
        end
    end
    test "$tokens[$i]" = run; or return 1
    set i (math $i + 1)
    set -l dashdash 0
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case --
                set dashdash 1
                set i (math $i + 1)
                break
            case --cache --ttl --stale --watch --output --env --key --max-age --root --dir --store -n --namespace
                set i (math $i + 2)
            case '-*'
                set i (math $i + 1)
            case '*'
                break
        end
    end
    # Past the end: the cursor is on the value of the option before it.
    test $i -le (math (count $tokens) + 1); or return 1
    if test $i -gt (count $tokens)
        # On the program's name, unless an option of run is being typed.
        set -l current (commandline -ct)
        test $dashdash -eq 1; or not string match -q -- '-*' "$current"; or return 1
        return 0
    end
    printf '%s\n' $tokens[$i..-1]
end

# Completes the program to memoize and its arguments as fish completes that
# command line.
function __cacheman_run_complete
    set -l program (__cacheman_run_program)
    set -l current (commandline -ct)
    complete -C (string join ' ' -- (string escape -- $program) "$current")
end

# True when global options may be completed: before the command, or after one
# other than run (which takes them only before it).
function __cacheman_globals
    set -l state (__cacheman_parse)
    test -z "$state[1]"; or begin
        test "$state[1]" != run; and test $state[3] -eq 0
    end
end

# True when no command has been typed yet.
function __cacheman_no_command
    set -l state (__cacheman_parse)
    test -z "$state[1]"
end

# True when the command is one of the arguments and options may be completed.
function __cacheman_command_options
    set -l state (__cacheman_parse)
    contains -- "$state[1]" $argv; or return 1
    if test "$state[1]" = run
        # run's options come before its program.
        not __cacheman_run_program >/dev/null
    else
        test $state[3] -eq 0
    end
end

# True when the word under the cursor is argument number $argv[2] (from 0) of
# command $argv[1]; further arguments are alternative numbers.
function __cacheman_argument
    set -l state (__cacheman_parse)
    test "$state[1]" = $argv[1]; and contains -- $state[2] $argv[2..-1]
end

# True when the word under the cursor is a key of the cache given before it: the
# second argument of get and invalidate, any argument after the first of del.
function __cacheman_key_argument
    set -l state (__cacheman_parse)
    switch "$state[1]"
        case get invalidate
            test $state[2] -eq 1
        case del
            test $state[2] -ge 1
        case '*'
            return 1
    end
end

complete -c cacheman -f

# Global options, accepted before the command and after it (but for run).
complete -c cacheman -n __cacheman_globals -l dir -x -a '(__fish_complete_directories (commandline -ct))' -d 'Store directory'
complete -c cacheman -n __cacheman_globals -l store -x -d 'A postgresql:// URL: the shared store on that server'
complete -c cacheman -n __cacheman_globals -s n -l namespace -x -a '(__cacheman_namespaces)' -d 'Namespace: the store file name'
complete -c cacheman -n __cacheman_globals -l json -d 'Print data as JSON'
complete -c cacheman -n __cacheman_globals -s q -l quiet -d 'Print no "not found" messages'
complete -c cacheman -n __cacheman_globals -s v -l verbose -d 'Say what was done on stderr'
complete -c cacheman -n __cacheman_globals -s h -l help -d 'Print help and exit'
complete -c cacheman -n __cacheman_no_command -l version -d 'Print the version and exit'

# Commands.
complete -c cacheman -n __cacheman_no_command -a set -d 'Store a value'
complete -c cacheman -n __cacheman_no_command -a get -d "Print a value's exact bytes"
complete -c cacheman -n __cacheman_no_command -a del -d 'Remove keys'
complete -c cacheman -n __cacheman_no_command -a keys -d "List a cache's keys"
complete -c cacheman -n __cacheman_no_command -a list -d "List the namespace's caches"
complete -c cacheman -n __cacheman_no_command -a depend -d 'Record that CHILD is computed from PARENT'
complete -c cacheman -n __cacheman_no_command -a undepend -d 'Remove a dependency edge'
complete -c cacheman -n __cacheman_no_command -a invalidate -d 'Clear a cache and its dependents'
complete -c cacheman -n __cacheman_no_command -a drop -d 'Remove a cache, clearing its dependents'
complete -c cacheman -n __cacheman_no_command -a export -d 'Write a cache as JSON Lines'
complete -c cacheman -n __cacheman_no_command -a import -d 'Add JSON Lines entries to a cache'
complete -c cacheman -n __cacheman_no_command -a deps -d "Show a cache's parents and children"
complete -c cacheman -n __cacheman_no_command -a run -d 'Memoize a command'
complete -c cacheman -n __cacheman_no_command -a create -d "Create a cache, or change its settings"
complete -c cacheman -n __cacheman_no_command -a show -d "Print a cache's settings"
complete -c cacheman -n __cacheman_no_command -a rebuild -d 'Run the builder; clear the dependents'
complete -c cacheman -n __cacheman_no_command -a reload -d 'Run the loader, else the builder'
complete -c cacheman -n __cacheman_no_command -a save -d 'Pipe the contents into the saver'
complete -c cacheman -n __cacheman_no_command -a stats -d 'Entries, bytes, hits and misses per cache'
complete -c cacheman -n __cacheman_no_command -a graph -d 'Print the dependency graph (dot or JSON)'
complete -c cacheman -n __cacheman_no_command -a why -d 'Print the chains of parents that would clear a cache'
complete -c cacheman -n __cacheman_no_command -a log -d 'Print the invalidation history'
complete -c cacheman -n __cacheman_no_command -a check -d 'Check the store; exit 3 if damaged'
complete -c cacheman -n __cacheman_no_command -a gc -d 'Remove expired entries, apply size limits, free space'
complete -c cacheman -n __cacheman_no_command -a copy -d 'Copy the namespace to or from another store'
complete -c cacheman -n __cacheman_no_command -a completions -d 'Print the completion script for bash, zsh or fish'
complete -c cacheman -n __cacheman_no_command -a help -d 'Describe a command'

# Options of commands.
complete -c cacheman -n '__cacheman_command_options set' -l ttl -x -d 'Expire the entry after this duration (90s, 15m, 7d)'
complete -c cacheman -n '__cacheman_command_options keys' -s 0 -l null -d 'End each key with NUL instead of newline'
complete -c cacheman -n '__cacheman_command_options invalidate' -l dry-run -d 'Print the caches that would be cleared; change nothing'
complete -c cacheman -n '__cacheman_command_options deps' -l all -d 'Every ancestor and descendant, not only direct edges'
complete -c cacheman -n '__cacheman_command_options create' -l builder -x -a '(__fish_complete_command)' -d 'Prints the contents when built (a shell command)'
complete -c cacheman -n '__cacheman_command_options create' -l loader -x -a '(__fish_complete_command)' -d 'Prints the contents on reload (a shell command)'
complete -c cacheman -n '__cacheman_command_options create' -l saver -x -a '(__fish_complete_command)' -d 'Reads the contents on save (a shell command)'
complete -c cacheman -n '__cacheman_command_options create' -l validator -x -a '(__fish_complete_command)' -d "Reads the loader's output; exit 0 accepts it"
complete -c cacheman -n '__cacheman_command_options create' -l deleter -x -a '(__fish_complete_command)' -d 'Runs on drop (a shell command)'
complete -c cacheman -n '__cacheman_command_options create' -l pre-processor -x -a '(__fish_complete_command)' -d 'Filters the contents before the saver'
complete -c cacheman -n '__cacheman_command_options create' -l post-processor -x -a '(__fish_complete_command)' -d "Filters the loader's or builder's output"
complete -c cacheman -n '__cacheman_command_options create' -l ttl -x -d 'Default expiry of its entries (90s, 15m, 7d)'
complete -c cacheman -n '__cacheman_command_options create' -l volatile -d 'Keep its contents off persistent disk'
complete -c cacheman -n '__cacheman_command_options create' -l no-volatile -d 'Keep its contents in the namespace file'
complete -c cacheman -n '__cacheman_command_options create' -l autosync -d 'Run the saver when the auto-sync rules hold'
complete -c cacheman -n '__cacheman_command_options create' -l no-autosync -d 'Never run the saver by itself'
complete -c cacheman -n '__cacheman_command_options create' -l autosync-checks -x -d 'WINDOW_SECONDS:EDITS,... (60:10000,300:10,900:1)'
complete -c cacheman -n '__cacheman_command_options create' -l max-entries -x -d 'Evict the least recently used entries beyond N'
complete -c cacheman -n '__cacheman_command_options create' -l max-bytes -x -d 'Evict the least recently used entries beyond SIZE (512K, 100M, 2G)'
complete -c cacheman -n '__cacheman_command_options gc' -l max-bytes -x -d "Evict the namespace's least recently used entries beyond SIZE"
complete -c cacheman -n '__cacheman_command_options copy' -l to -x -a '(__fish_complete_directories)' -d 'Copy the namespace into this store (a directory or a URL)'
complete -c cacheman -n '__cacheman_command_options copy' -l from -x -a '(__fish_complete_directories)' -d 'Copy the namespace from this store (a directory or a URL)'
complete -c cacheman -n '__cacheman_command_options copy' -l replace -d 'Replace the namespace where it exists already'
complete -c cacheman -n '__cacheman_command_options reload save' -l cascade -d 'Apply to its dependents too (dependents first)'
complete -c cacheman -n '__cacheman_command_options graph' -l format -x -a 'dot json' -d 'Output format (default: dot)'
complete -c cacheman -n '__cacheman_command_options log' -l limit -x -d 'At most this many entries (default 20)'
complete -c cacheman -n '__cacheman_command_options run' -s h -l help -d 'Print help and exit'
complete -c cacheman -n '__cacheman_command_options run' -l cache -x -a '(__cacheman_caches)' -d 'Cache that holds the results (default: run)'
complete -c cacheman -n '__cacheman_command_options run' -l ttl -x -d 'Results expire after this duration'
complete -c cacheman -n '__cacheman_command_options run' -l stale -x -d 'Older than this: replay, then refresh in the background'
complete -c cacheman -n '__cacheman_command_options run' -l watch -r -F -d 'A file or directory whose contents are part of the key'
complete -c cacheman -n '__cacheman_command_options run' -l output -r -F -d 'A file or directory the command writes: stored, restored on a hit'
complete -c cacheman -n '__cacheman_command_options run' -l env -x -a '(set --names --export)' -d 'An environment variable whose value is part of the key'
complete -c cacheman -n '__cacheman_command_options run' -l key -x -d 'An extra string that is part of the key (repeatable)'
complete -c cacheman -n '__cacheman_command_options run' -l root -x -a '(__fish_complete_directories)' -d 'Paths enter the key relative to DIR (default: $CACHEMAN_ROOT)'
complete -c cacheman -n '__cacheman_command_options run' -l stdin -d 'Read stdin to its end: its bytes are part of the key'
complete -c cacheman -n '__cacheman_command_options run' -l max-age -x -d 'A result older than this is a miss, whatever its TTL'
complete -c cacheman -n '__cacheman_command_options run' -l cache-failures -d 'Store a non-zero exit too'
complete -c cacheman -n '__cacheman_command_options run' -l replay-only -d 'Replay a hit; on a miss run nothing and exit 1'
complete -c cacheman -n '__cacheman_command_options run' -l force -d 'Run even on a hit, and overwrite the result'
complete -c cacheman -n '__cacheman_command_options run' -l explain -d "Print the key's parts and whether it would hit; run nothing"

# Arguments that name a cache, a file or a command.
for command in set get del keys invalidate drop export import deps create show rebuild reload save \
    stats why log
    complete -c cacheman -n "__cacheman_argument $command 0" -a '(__cacheman_caches)' -d cache
end
complete -c cacheman -n __cacheman_key_argument -a '(__cacheman_keys)' -d key
complete -c cacheman -n '__cacheman_argument depend 0 1' -a '(__cacheman_caches)' -d cache
complete -c cacheman -n '__cacheman_argument undepend 0 1' -a '(__cacheman_caches)' -d cache
complete -c cacheman -n '__cacheman_argument import 1' -F
complete -c cacheman -n '__cacheman_argument completions 0' -x -a 'bash zsh fish' -d shell
complete -c cacheman -n '__cacheman_argument help 0' -a 'set get del keys list depend undepend invalidate drop export import deps run create show rebuild reload save stats graph why log check gc copy completions help' -d command
complete -c cacheman -n __cacheman_run_program -a '(__cacheman_run_complete)'

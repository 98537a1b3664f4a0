// `run`'s options, listed once: the command line declares them from this list, splits the
// command from them with it, and the background refresh repeats them from it; the request (and
// so the key and `--explain`) is made from the parsed values in one place.
#pragma once

#include "run/Memoizer.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman {

struct RunOptions {
    std::string cache = "run";
    std::optional<std::string> ttl;
    std::optional<std::string> stale;
    std::vector<std::string> watch;
    std::vector<std::string> output;
    std::vector<std::string> env;
    std::vector<std::string> key;
    std::optional<std::string> max_age;
    std::optional<std::string> root;
    bool stdin = false;
    bool cache_failures = false;
    bool replay_only = false;
    bool force = false;
    bool explain = false;
    bool background_refresh = false;
};

struct RunOptionInfo {
    std::string_view flag;
    std::string_view help; // empty: left out of --help
    bool refreshed;        // the background refresh repeats it
};

// Calls visit(info, field) for each option, in --help order; `field` is the option's member of
// `options` (std::string, std::optional<std::string>, std::vector<std::string> or bool).
template <class Options, class Visitor> void visit_run_options(Options& options, Visitor&& visit) {
    visit(RunOptionInfo{"--cache", "Cache that holds the results (default: run)", true},
          options.cache);
    visit(RunOptionInfo{"--ttl", "Results expire after this duration", true}, options.ttl);
    visit(RunOptionInfo{"--stale", "Older than this: replay, then refresh in the background", true},
          options.stale);
    visit(RunOptionInfo{"--watch", "A file or directory whose contents are part of the key", true},
          options.watch);
    visit(RunOptionInfo{"--output",
                        "A file or directory the command writes: stored, restored on a hit", true},
          options.output);
    visit(RunOptionInfo{"--env", "An environment variable whose value is part of the key", true},
          options.env);
    visit(RunOptionInfo{"--key", "An extra string that is part of the key (repeatable)", true},
          options.key);
    visit(RunOptionInfo{"--root", "Paths enter the key relative to DIR (default: $CACHEMAN_ROOT)",
                        true},
          options.root);
    visit(RunOptionInfo{"--stdin", "Read stdin to its end: its bytes are part of the key", false},
          options.stdin);
    visit(RunOptionInfo{"--max-age", "A result older than this is a miss, whatever its TTL", true},
          options.max_age);
    visit(RunOptionInfo{"--cache-failures", "Store a non-zero exit too", true},
          options.cache_failures);
    visit(RunOptionInfo{"--replay-only", "Replay a hit; on a miss run nothing and exit 1", false},
          options.replay_only);
    visit(RunOptionInfo{"--force", "Run even on a hit, and overwrite the result", false},
          options.force);
    visit(RunOptionInfo{"--explain", "Print the key's parts and whether it would hit; run nothing",
                        false},
          options.explain);
    visit(RunOptionInfo{"--background-refresh", "", false}, options.background_refresh);
}

// Whether `word` is one of run's options that takes the next word as its value.
bool run_option_takes_value(std::string_view word);

// The words that repeat the options a background refresh needs (--background-refresh itself
// excluded), in the order of the list.
std::vector<std::string> refresh_options(const RunOptions& options);

// The request that the options and the command make, run from `cwd` (CACHEMAN_ROOT, looked up
// in `env`, stands for a missing --root). Throws UsageError for an invalid cache name or
// duration, or a root that does not exist.
RunRequest run_request(const RunOptions& options, const std::vector<std::string>& command,
                       std::string cwd, const EnvLookup& env = process_env);

} // namespace cacheman

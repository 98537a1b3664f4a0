#include "run/RunOptions.hpp"

#include "base/Duration.hpp"
#include "base/Error.hpp"
#include "base/Names.hpp"

#include <filesystem>
#include <type_traits>

namespace cacheman {

bool run_option_takes_value(std::string_view word) {
    bool takes_value = false;
    const RunOptions defaults;
    visit_run_options(defaults, [&](const RunOptionInfo& info, const auto& field) {
        if (info.flag == word) {
            takes_value = !std::is_same_v<std::decay_t<decltype(field)>, bool>;
        }
    });
    return takes_value;
}

std::vector<std::string> refresh_options(const RunOptions& options) {
    std::vector<std::string> words;
    const auto add = [&](std::string_view flag, const std::string& value) {
        words.emplace_back(flag);
        words.push_back(value);
    };
    visit_run_options(options, [&](const RunOptionInfo& info, const auto& field) {
        using Field = std::decay_t<decltype(field)>;
        if (!info.refreshed) {
            return;
        }
        if constexpr (std::is_same_v<Field, bool>) {
            if (field) {
                words.emplace_back(info.flag);
            }
        } else if constexpr (std::is_same_v<Field, std::string>) {
            add(info.flag, field);
        } else if constexpr (std::is_same_v<Field, std::optional<std::string>>) {
            if (field) {
                add(info.flag, *field);
            }
        } else {
            for (const auto& value : field) {
                add(info.flag, value);
            }
        }
    });
    return words;
}

namespace {

// The root as an absolute path without symbolic links (as the working directory is).
std::string resolved_root(const std::string& root) {
    std::error_code error;
    const auto resolved = std::filesystem::canonical(root, error);
    if (error || !std::filesystem::is_directory(resolved)) {
        throw UsageError("--root '" + root + "' is not a directory" +
                         (error ? ": " + error.message() : std::string()));
    }
    return resolved.string();
}

} // namespace

RunRequest run_request(const RunOptions& options, const std::vector<std::string>& command,
                       std::string cwd, const EnvLookup& env) {
    validate_cache_name(options.cache);
    RunRequest request;
    request.spec.argv = command;
    request.spec.cwd = std::move(cwd);
    request.spec.env_names = options.env;
    request.spec.watch_paths = options.watch;
    request.spec.output_paths = options.output;
    request.spec.extra_keys = options.key;
    if (options.root) {
        request.spec.root = resolved_root(*options.root);
    } else if (const auto from_env = env("CACHEMAN_ROOT"); from_env && !from_env->empty()) {
        request.spec.root = resolved_root(*from_env);
    }
    request.cache = options.cache;
    if (options.ttl) {
        request.ttl = parse_duration(*options.ttl);
    }
    if (options.stale) {
        if (options.stdin) {
            throw UsageError("--stale cannot be used with --stdin: a background refresh has no "
                             "stdin to read");
        }
        request.stale = parse_duration(*options.stale);
    }
    if (options.max_age) {
        request.max_age = parse_duration(*options.max_age);
    }
    request.replay_only = options.replay_only;
    request.cache_failures = options.cache_failures;
    request.force = options.force;
    request.refresh = options.background_refresh;
    return request;
}

} // namespace cacheman

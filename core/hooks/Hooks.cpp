#include "hooks/Hooks.hpp"

#include "base/Clock.hpp"
#include "base/Error.hpp"
#include "jsonl/Json.hpp"
#include "proc/Process.hpp"
#include "engine/sqlite/Stats.hpp"

#include <algorithm>
#include <chrono>

namespace cacheman {

Hooks::Hooks(Store& store, Location location, std::function<double()> clock)
    : m_store(store), m_location(std::move(location)), m_clock(std::move(clock)) {}

double Hooks::now() const {
    return unix_now(m_clock);
}

void Hooks::refuse_foreign_store() const {
    if (!m_store.owned_by_current_user()) {
        throw StoreError("refusing to run hooks from a store you do not own (" + m_store.path() +
                         ")");
    }
}

Hooks::Output Hooks::run(const std::string& cache, std::string_view kind,
                         const std::string& command, std::string_view input) {
    refuse_foreign_store();
    const std::vector<std::string> env{"CACHEMAN_CACHE=" + cache,
                                       "CACHEMAN_NAMESPACE=" + m_location.name_space,
                                       "CACHEMAN_DIR=" + m_location.dir};
    try {
        FilterResult result = run_filter({"/bin/sh", "-c", command}, env, input);
        return {result.exit_code == 0, std::move(result.out)};
    } catch (const SpawnError& error) {
        throw HookError(std::string(kind) + " of cache '" + cache +
                        "' cannot run: " + error.what());
    }
}

std::string Hooks::must_run(const std::string& cache, std::string_view kind,
                            const std::string& command, std::string_view input) {
    Output output = run(cache, kind, command, input);
    if (!output.ok) {
        throw HookError(std::string(kind) + " of cache '" + cache +
                        "' failed; the cache is unchanged");
    }
    return std::move(output.text);
}

std::string Hooks::post_process(const std::string& cache, const CacheSettings& settings,
                                std::string contents) {
    if (!settings.post_processor) {
        return contents;
    }
    return must_run(cache, "post-processor", *settings.post_processor, contents);
}

std::string Hooks::build_contents(const std::string& cache, const CacheSettings& settings) {
    // The seed's default builder builds an empty cache.
    std::string built = settings.builder ? must_run(cache, "builder", *settings.builder, "") : "";
    return post_process(cache, settings, std::move(built));
}

void Hooks::replace(const std::string& cache, const std::string& contents,
                    std::string_view source) {
    try {
        m_store.replace_contents(cache, contents, source, true);
    } catch (const UsageError& error) {
        throw HookError(std::string("hook output refused, the cache is unchanged: ") +
                        error.what());
    }
}

void Hooks::enable_lazy_build() {
    m_store.set_build_hook([this](const std::string& cache) {
        const CacheSettings settings = m_store.settings(cache);
        replace(cache, build_contents(cache, settings), "builder output");
    });
}

void Hooks::rebuild(const std::string& cache) {
    const CacheSettings settings = m_store.settings(cache);
    // Run and check everything before anything changes: a failure leaves the cache as it was.
    const std::string contents = build_contents(cache, settings);
    try {
        json::parse_lines(contents, "builder output");
    } catch (const UsageError& error) {
        throw HookError(std::string("hook output refused, the cache is unchanged: ") +
                        error.what());
    }
    m_store.invalidate(cache, std::nullopt, false, "rebuild");
    replace(cache, contents, "builder output");
}

std::vector<std::string> Hooks::dependents_first(const std::string& cache) {
    auto order = m_store.dependencies(cache, true).children; // each after its parents
    std::reverse(order.begin(), order.end());
    order.push_back(cache);
    return order;
}

std::vector<std::string> Hooks::reload(const std::string& cache, bool cascade) {
    std::vector<std::string> fallbacks;
    const auto targets = cascade ? dependents_first(cache) : std::vector<std::string>{cache};
    for (const auto& target : targets) {
        const CacheSettings settings = m_store.settings(target);
        if (!settings.loader) {
            if (settings.is_volatile) {
                m_store.replace_contents(target, "", "", false); // nothing to load it from
            }
            continue;
        }
        const Output loaded = run(target, "loader", *settings.loader, "");
        std::string reason;
        if (!loaded.ok) {
            reason = "the loader failed";
        } else if (loaded.text.empty()) {
            reason = "the loader printed nothing";
        } else if (settings.validator &&
                   !run(target, "validator", *settings.validator, loaded.text).ok) {
            reason = "the validator rejected the loader's output";
        }
        if (reason.empty()) {
            replace(target, post_process(target, settings, loaded.text), "loader output");
            continue;
        }
        fallbacks.push_back("reload of '" + target + "': " + reason + "; " +
                            (settings.builder ? "built it instead" : "emptied it"));
        replace(target, build_contents(target, settings), "builder output");
    }
    return fallbacks;
}

void Hooks::save(const std::string& cache, bool cascade) {
    const auto targets = cascade ? dependents_first(cache) : std::vector<std::string>{cache};
    for (const auto& target : targets) {
        const CacheSettings settings = m_store.settings(target);
        if (!settings.saver) {
            continue;
        }
        std::string contents = m_store.contents(target);
        if (settings.pre_processor) {
            contents = must_run(target, "pre-processor", *settings.pre_processor, contents);
        }
        must_run(target, "saver", *settings.saver, contents);
        m_store.clear_edit_counts(target);
    }
}

void Hooks::after_edit(const std::string& cache) {
    if (!m_store.counted_edits(cache)) {
        return; // no auto-sync on this cache: nothing to check, no query on the hot path
    }
    EditWindow::Buckets counts = m_store.edit_counts(cache);
    if (counts.empty()) {
        return; // no auto-sync on this cache, or nothing counted since its last save
    }
    const CacheSettings settings = m_store.settings(cache);
    EditWindow window(settings.checks());
    window.set_buckets(std::move(counts));
    const double current = now();
    if (!window.save_due(current)) {
        window.prune(current);
        m_store.forget_edit_counts_before(cache, window.buckets().empty()
                                                     ? static_cast<std::int64_t>(current) + 1
                                                     : window.buckets().begin()->first);
        return;
    }
    try {
        save(cache, false);
    } catch (const HookError& error) {
        throw HookError(std::string("auto-sync save failed; the command's own change was kept: ") +
                        error.what());
    }
}

std::vector<std::string> Hooks::drop(const std::string& cache) {
    const CacheSettings settings = m_store.settings(cache);
    if (settings.deleter) {
        must_run(cache, "deleter", *settings.deleter, "");
    }
    // Fold the lookups counted so far, so that none is credited later to a new cache that
    // takes the dropped one's name.
    m_store.add_lookup_counts(take_counts(m_location));
    return m_store.drop(cache);
}

} // namespace cacheman

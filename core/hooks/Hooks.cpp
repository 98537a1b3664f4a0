#include "hooks/Hooks.hpp"

#include "base/Error.hpp"
#include "proc/Process.hpp"

namespace cacheman {

Hooks::Output Hooks::run(const std::string& cache, std::string_view kind,
                         const std::string& command, std::string_view input) {
    const bool on_server = !m_location.store.empty();
    if (!m_trusted()) {
        throw StoreError(on_server ? "refusing to run hooks from cache settings written by "
                                     "another database role"
                                   : "refusing to run hooks from a store you do not own (" +
                                         m_location.path() + ")");
    }
    // A hook that runs cacheman reaches the same store: the directory, or the server's URL.
    const std::vector<std::string> env{
        "CACHEMAN_CACHE=" + cache, "CACHEMAN_NAMESPACE=" + m_location.name_space,
        on_server ? "CACHEMAN_STORE=" + m_location.store : "CACHEMAN_DIR=" + m_location.dir};
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

std::string Hooks::post_process(const std::string& cache, const engine::CacheSettings& settings,
                                std::string contents) {
    if (!settings.post_processor) {
        return contents;
    }
    return must_run(cache, "post-processor", *settings.post_processor, contents);
}

std::string Hooks::build(const std::string& cache, const engine::CacheSettings& settings) {
    std::string built = settings.builder ? must_run(cache, "builder", *settings.builder, "") : "";
    return post_process(cache, settings, std::move(built));
}

Hooks::Loaded Hooks::load(const std::string& cache, const engine::CacheSettings& settings) {
    if (!settings.loader) {
        return {std::nullopt, "it has no loader"};
    }
    Output loaded = run(cache, "loader", *settings.loader, "");
    if (!loaded.ok) {
        return {std::nullopt, "the loader failed"};
    }
    if (loaded.text.empty()) {
        return {std::nullopt, "the loader printed nothing"};
    }
    if (settings.validator && !run(cache, "validator", *settings.validator, loaded.text).ok) {
        return {std::nullopt, "the validator rejected the loader's output"};
    }
    return {post_process(cache, settings, std::move(loaded.text)), {}};
}

void Hooks::save(const std::string& cache, const engine::CacheSettings& settings,
                 std::string contents) {
    if (!settings.saver) {
        return;
    }
    if (settings.pre_processor) {
        contents = must_run(cache, "pre-processor", *settings.pre_processor, contents);
    }
    must_run(cache, "saver", *settings.saver, contents);
}

void Hooks::remove(const std::string& cache, const engine::CacheSettings& settings) {
    if (settings.deleter) {
        must_run(cache, "deleter", *settings.deleter, "");
    }
}

} // namespace cacheman

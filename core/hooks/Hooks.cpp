#include "hooks/Hooks.hpp"

#include "base/Error.hpp"
#include "proc/Process.hpp"

namespace cacheman {

Hooks::Output Hooks::run(const std::string& cache, std::string_view kind,
                         const std::string& command, Spool* input) {
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
        auto out = std::make_unique<Spool>(k_hook_memory);
        const int code = run_filter({"/bin/sh", "-c", command}, env,
                                    input == nullptr || input->size() == 0 ? -1 : input->file(),
                                    [&out](std::string_view piece) { out->append(piece); });
        return {code == 0, std::move(out)};
    } catch (const SpawnError& error) {
        throw HookError(std::string(kind) + " of cache '" + cache +
                        "' cannot run: " + error.what());
    }
}

Hooks::Contents Hooks::must_run(const std::string& cache, std::string_view kind,
                                const std::string& command, Spool* input) {
    Output output = run(cache, kind, command, input);
    if (!output.ok) {
        throw HookError(std::string(kind) + " of cache '" + cache +
                        "' failed; the cache is unchanged");
    }
    return std::move(output.text);
}

Hooks::Contents Hooks::post_process(const std::string& cache,
                                    const engine::CacheSettings& settings, Contents contents) {
    if (!settings.post_processor) {
        return contents;
    }
    return must_run(cache, "post-processor", *settings.post_processor, contents.get());
}

Hooks::Contents Hooks::build(const std::string& cache, const engine::CacheSettings& settings) {
    Contents built = settings.builder ? must_run(cache, "builder", *settings.builder, nullptr)
                                      : std::make_unique<Spool>(k_hook_memory);
    return post_process(cache, settings, std::move(built));
}

Hooks::Loaded Hooks::load(const std::string& cache, const engine::CacheSettings& settings) {
    if (!settings.loader) {
        return {nullptr, "it has no loader"};
    }
    Output loaded = run(cache, "loader", *settings.loader, nullptr);
    if (!loaded.ok) {
        return {nullptr, "the loader failed"};
    }
    if (loaded.text->size() == 0) {
        return {nullptr, "the loader printed nothing"};
    }
    if (settings.validator &&
        !run(cache, "validator", *settings.validator, loaded.text.get()).ok) {
        return {nullptr, "the validator rejected the loader's output"};
    }
    return {post_process(cache, settings, std::move(loaded.text)), {}};
}

void Hooks::save(const std::string& cache, const engine::CacheSettings& settings,
                 Spool& contents) {
    if (!settings.saver) {
        return;
    }
    Contents processed;
    if (settings.pre_processor) {
        processed = must_run(cache, "pre-processor", *settings.pre_processor, &contents);
    }
    must_run(cache, "saver", *settings.saver, processed ? processed.get() : &contents);
}

void Hooks::remove(const std::string& cache, const engine::CacheSettings& settings) {
    if (settings.deleter) {
        must_run(cache, "deleter", *settings.deleter, nullptr);
    }
}

} // namespace cacheman

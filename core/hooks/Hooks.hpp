// A cache's hooks, the seed's way (loader, saver, builder, validator, deleter, pre- and
// post-processor), as shell commands. Each runs as `/bin/sh -c COMMAND` with CACHEMAN_CACHE,
// CACHEMAN_NAMESPACE and CACHEMAN_DIR set; contents travel on stdin/stdout in the export format
// (JSON Lines). A hook's stderr passes through.
//
// This runs hooks and nothing else: when they run, and what happens to the store around them,
// the session decides (session/Namespace.hpp). A failing builder, saver, deleter, pre- or
// post-processor throws HookError (exit 4); a failing loader or a rejecting validator is not an
// error: load() says why, and the session falls back to the builder.
#pragma once

#include "base/Location.hpp"
#include "base/Spool.hpp"
#include "engine/Types.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cacheman {

class Hooks {
  public:
    // `trusted` says whether hook commands may run from the store's settings (they were
    // written by the user running cacheman); every hook refuses with StoreError otherwise.
    Hooks(Location location, std::function<bool()> trusted)
        : m_location(std::move(location)), m_trusted(std::move(trusted)) {}

    // Hook contents travel in spools (memory up to k_hook_memory, then an unlinked file), so
    // that memory stays bounded whatever their size.
    using Contents = std::unique_ptr<Spool>;
    static constexpr std::size_t k_hook_memory = 1 << 20;

    // The builder's output (nothing without a builder: the seed's default builder builds an
    // empty cache), through the post-processor.
    Contents build(const std::string& cache, const engine::CacheSettings& settings);
    struct Loaded {
        Contents contents; // post-processed; null: fall back
        std::string reason; // why it fell back
    };
    // The loader's output, checked by the validator, through the post-processor.
    Loaded load(const std::string& cache, const engine::CacheSettings& settings);
    // Pipes `contents` through the pre-processor into the saver.
    void save(const std::string& cache, const engine::CacheSettings& settings, Spool& contents);
    // Runs the deleter, if any.
    void remove(const std::string& cache, const engine::CacheSettings& settings);

  private:
    struct Output {
        bool ok = false;
        Contents text;
    };
    // Runs `command` with `input` on its stdin (null: an empty one).
    Output run(const std::string& cache, std::string_view kind, const std::string& command,
               Spool* input);
    Contents must_run(const std::string& cache, std::string_view kind, const std::string& command,
                      Spool* input);
    Contents post_process(const std::string& cache, const engine::CacheSettings& settings,
                          Contents contents);

    Location m_location;
    std::function<bool()> m_trusted;
};

} // namespace cacheman

// A cache's hooks, the seed's way (loader, saver, builder, validator, deleter, pre- and
// post-processor), as shell commands. Each runs as `/bin/sh -c COMMAND` with CACHEMAN_CACHE,
// CACHEMAN_NAMESPACE and CACHEMAN_DIR set; contents travel on stdin/stdout in the export format
// (JSON Lines). A hook's stderr passes through. A failing builder, saver, deleter, pre- or
// post-processor throws HookError (exit 4) and leaves the cache as it was; a failing loader or a
// rejecting validator is not an error: reload falls back to the builder.
#pragma once

#include "base/Location.hpp"
#include "engine/sqlite/Store.hpp"

#include <functional>
#include <string>
#include <vector>

namespace cacheman {

class Hooks {
  public:
    Hooks(Store& store, Location location, std::function<double()> clock = {});

    // Makes reads of an unbuilt cache with a builder run the builder first.
    void enable_lazy_build();

    // Runs the builder (its output, post-processed, becomes the contents) and clears the
    // dependents; without a builder, empties the cache and clears its dependents.
    void rebuild(const std::string& cache);
    // Loads through loader and validator, falling back to the builder (see the contract).
    // Returns the reasons it fell back, for the user (empty when the loader's output was used).
    // With `cascade`, dependents are reloaded first.
    std::vector<std::string> reload(const std::string& cache, bool cascade);
    // Pipes the contents through the pre-processor into the saver (a no-op without a saver).
    // With `cascade`, dependents are saved first.
    void save(const std::string& cache, bool cascade);
    // After a command's edits were committed: saves when the auto-sync rules say so.
    void after_edit(const std::string& cache);
    // Runs the deleter, then drops the cache (its dependents are cleared).
    std::vector<std::string> drop(const std::string& cache);

  private:
    struct Output {
        bool ok = false;
        std::string text;
    };
    Output run(const std::string& cache, std::string_view kind, const std::string& command,
               std::string_view input);
    std::string must_run(const std::string& cache, std::string_view kind,
                         const std::string& command, std::string_view input);
    std::string build_contents(const std::string& cache, const CacheSettings& settings);
    std::string post_process(const std::string& cache, const CacheSettings& settings,
                             std::string contents);
    void replace(const std::string& cache, const std::string& contents, std::string_view source);
    std::vector<std::string> dependents_first(const std::string& cache);
    void refuse_foreign_store() const;
    [[nodiscard]] double now() const;

    Store& m_store;
    Location m_location;
    std::function<double()> m_clock;
};

} // namespace cacheman

// Where a namespace's store lives, resolved as the contract says:
//   dir: --dir, else $CACHEMAN_DIR, else $XDG_CACHE_HOME/cacheman, else $HOME/.cache/cacheman
//   namespace: -n, else $CACHEMAN_NAMESPACE (empty counts as unset), else "default"
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cacheman {

struct Location {
    std::string dir;
    std::string name_space;
    // A postgresql:// URL when the store is a server (then `dir` is unused), else empty.
    std::string store;

    [[nodiscard]] std::string path() const { return dir + "/" + name_space + ".sqlite"; }
    // Lock files of `run`'s single flight (see Flight.hpp).
    [[nodiscard]] std::string flights_dir() const { return dir + "/" + name_space + ".flights"; }
};

using EnvLookup = std::function<std::optional<std::string>(const char*)>;

// Where volatile caches of this store keep their contents: a file in $CACHEMAN_RUNTIME_DIR, else
// $XDG_RUNTIME_DIR/cacheman, else /dev/shm/cacheman-<uid> (memory-backed, gone at reboot), named
// after the namespace and a hash of the store directory so that stores never share one.
std::string volatile_store_path(const Location& location, const EnvLookup& env);

// The namespaces that have a store in `dir`, sorted.
std::vector<std::string> list_namespaces(const std::string& dir);

// Reads the process environment; an unset variable is nullopt.
std::optional<std::string> process_env(const char* name);

// The namespace: -n, else $CACHEMAN_NAMESPACE (empty counts as unset), else "default". Throws
// UsageError for a bad one (an explicit empty -n included).
std::string resolve_namespace(const std::optional<std::string>& namespace_option,
                              const EnvLookup& env = process_env);

// Resolves and validates the location. Throws UsageError for a bad namespace (an explicit empty
// -n included) and when no directory can be derived (no HOME).
Location resolve_location(const std::optional<std::string>& dir_option,
                          const std::optional<std::string>& namespace_option,
                          const EnvLookup& env = process_env);

} // namespace cacheman

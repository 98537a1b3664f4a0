#include "base/Location.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <unistd.h>

namespace cacheman {

namespace {

std::optional<std::string> non_empty(std::optional<std::string> value) {
    if (value && value->empty()) {
        return std::nullopt;
    }
    return value;
}

std::string resolve_dir(const std::optional<std::string>& dir_option, const EnvLookup& env) {
    if (dir_option) {
        if (dir_option->empty()) {
            throw UsageError("invalid --dir: it is empty");
        }
        return *dir_option;
    }
    if (auto dir = non_empty(env("CACHEMAN_DIR"))) {
        return *dir;
    }
    if (auto xdg = non_empty(env("XDG_CACHE_HOME"))) {
        return *xdg + "/cacheman";
    }
    if (auto home = non_empty(env("HOME"))) {
        return *home + "/.cache/cacheman";
    }
    throw UsageError("cannot find a store directory: none of --dir, CACHEMAN_DIR, "
                     "XDG_CACHE_HOME and HOME is set");
}

} // namespace

std::optional<std::string> process_env(const char* name) {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
}

std::vector<std::string> list_namespaces(const std::string& dir) {
    std::vector<std::string> names;
    DIR* handle = opendir(dir.c_str());
    if (handle == nullptr) {
        return names;
    }
    constexpr std::string_view k_suffix = ".sqlite";
    while (const dirent* entry = readdir(handle)) {
        const std::string_view name = entry->d_name;
        if (name.size() > k_suffix.size() &&
            name.substr(name.size() - k_suffix.size()) == k_suffix) {
            const std::string candidate(name.substr(0, name.size() - k_suffix.size()));
            try {
                validate_namespace(candidate);
                names.push_back(candidate);
            } catch (const UsageError&) {
                // not a namespace's file
            }
        }
    }
    closedir(handle);
    std::sort(names.begin(), names.end());
    return names;
}

std::string volatile_store_path(const Location& location, const EnvLookup& env) {
    std::string base;
    if (auto dir = non_empty(env("CACHEMAN_RUNTIME_DIR"))) {
        base = *dir;
    } else if (auto runtime = non_empty(env("XDG_RUNTIME_DIR"))) {
        base = *runtime + "/cacheman";
    } else {
        base = "/dev/shm/cacheman-" + std::to_string(getuid());
    }
    char resolved[PATH_MAX];
    const std::string dir = realpath(location.dir.c_str(), resolved) ? resolved : location.dir;
    std::uint64_t hash = 14695981039346656037ULL; // FNV-1a: stable across builds and machines
    for (const char c : dir) {
        hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string suffix;
    for (int shift = 60; shift >= 0; shift -= 4) {
        suffix += k_hex[(hash >> shift) & 0xF];
    }
    return base + "/" + location.name_space + "-" + suffix + ".sqlite";
}

std::string resolve_namespace(const std::optional<std::string>& namespace_option,
                              const EnvLookup& env) {
    std::string name_space = "default";
    if (namespace_option) {
        name_space = *namespace_option;
    } else if (auto from_env = non_empty(env("CACHEMAN_NAMESPACE"))) {
        name_space = *from_env;
    }
    validate_namespace(name_space);
    return name_space;
}

Location resolve_location(const std::optional<std::string>& dir_option,
                          const std::optional<std::string>& namespace_option,
                          const EnvLookup& env) {
    std::string name_space = resolve_namespace(namespace_option, env);
    std::string dir = resolve_dir(dir_option, env);
    while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
    }
    return {dir, name_space, {}};
}

} // namespace cacheman

#include "Location.hpp"

#include "Error.hpp"
#include "Names.hpp"

#include <cstdlib>

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

Location resolve_location(const std::optional<std::string>& dir_option,
                          const std::optional<std::string>& namespace_option,
                          const EnvLookup& env) {
    std::string name_space = "default";
    if (namespace_option) {
        name_space = *namespace_option;
    } else if (auto from_env = non_empty(env("CACHEMAN_NAMESPACE"))) {
        name_space = *from_env;
    }
    validate_namespace(name_space);
    std::string dir = resolve_dir(dir_option, env);
    while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
    }
    return {dir, name_space};
}

} // namespace cacheman

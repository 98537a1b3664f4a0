// An environment for tests: lookups answered from a map instead of the process's environment.
#pragma once

#include "base/Location.hpp"

#include <map>
#include <optional>
#include <string>

namespace cacheman::test {

inline EnvLookup fake_env(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> std::optional<std::string> {
        const auto found = values.find(name);
        return found == values.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
}

} // namespace cacheman::test

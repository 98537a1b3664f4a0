#include "base/Duration.hpp"

#include "base/Error.hpp"
#include "base/Quantity.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace cacheman {

namespace {

[[noreturn]] void refuse(std::string_view text, std::string_view why) {
    throw UsageError("invalid duration '" + std::string(text) + "': " + std::string(why) +
                     " (use an integer with ms, s, m, h or d, e.g. 90s, 15m, 7d)");
}

} // namespace

Duration parse_duration(std::string_view text) {
    // Cap at about 100 years: enough for any cache, far from overflowing a timestamp.
    constexpr std::int64_t k_max_ms = 100LL * 366 * 86'400'000;
    Quantity quantity;
    if (const auto problem = read_quantity(text, k_max_ms, quantity)) {
        refuse(text, *problem == "too large" ? "too long" : *problem);
    }
    static constexpr std::array<std::pair<std::string_view, std::int64_t>, 6> k_units{{
        {"", 1000},
        {"ms", 1},
        {"s", 1000},
        {"m", 60'000},
        {"h", 3'600'000},
        {"d", 86'400'000},
    }};
    std::int64_t scale = 0;
    for (const auto& [name, ms] : k_units) {
        if (quantity.unit == name) {
            scale = ms;
        }
    }
    if (scale == 0) {
        refuse(text, "unknown unit");
    }
    if (quantity.number > k_max_ms / scale) {
        refuse(text, "too long");
    }
    return Duration(quantity.number * scale);
}

} // namespace cacheman

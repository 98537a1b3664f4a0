#include "base/Duration.hpp"

#include "base/Error.hpp"

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
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0) {
        refuse(text, "it does not start with a number");
    }
    const std::string_view unit = text.substr(digits);
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
        if (unit == name) {
            scale = ms;
        }
    }
    if (scale == 0) {
        refuse(text, "unknown unit");
    }
    // Cap at about 100 years: enough for any cache, far from overflowing a timestamp.
    constexpr std::int64_t k_max_ms = 100LL * 366 * 86'400'000;
    std::int64_t value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        value = value * 10 + (text[i] - '0');
        if (value > k_max_ms) {
            refuse(text, "too long");
        }
    }
    if (value == 0) {
        refuse(text, "it must be positive");
    }
    if (value > k_max_ms / scale) {
        refuse(text, "too long");
    }
    return Duration(value * scale);
}

} // namespace cacheman

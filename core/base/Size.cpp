#include "base/Size.hpp"

#include "base/Error.hpp"
#include "base/Quantity.hpp"

#include <cctype>

namespace cacheman {

namespace {

constexpr std::string_view k_units = "KMGT"; // 1024^1 .. 1024^4
constexpr std::int64_t k_max_bytes = std::int64_t{1} << 62;

[[noreturn]] void refuse(std::string_view text, std::string_view why) {
    throw UsageError("invalid size '" + std::string(text) + "': " + std::string(why) +
                     " (use a number of bytes, or one with K, M, G or T, e.g. 512K, 100M, 2G)");
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

} // namespace

std::int64_t parse_size(std::string_view text) {
    Quantity quantity;
    if (const auto problem = read_quantity(text, k_max_bytes, quantity)) {
        refuse(text, *problem);
    }
    std::string unit;
    for (const char c : quantity.unit) {
        unit += lower(c);
    }
    int power = 0;
    if (!unit.empty()) {
        const auto found = k_units.find(static_cast<char>(std::toupper(unit.front())));
        if (found == std::string_view::npos) {
            refuse(text, "unknown unit");
        }
        power = static_cast<int>(found) + 1;
        const std::string_view suffix = std::string_view(unit).substr(1);
        if (!suffix.empty() && suffix != "b" && suffix != "ib") {
            refuse(text, "unknown unit");
        }
    }
    std::int64_t value = quantity.number;
    for (int i = 0; i < power; ++i) {
        if (value > k_max_bytes / 1024) {
            refuse(text, "too large");
        }
        value *= 1024;
    }
    return value;
}

std::int64_t parse_count(std::string_view text) {
    Quantity quantity;
    const auto problem = read_quantity(text, k_max_bytes, quantity);
    if (problem || !quantity.unit.empty()) {
        throw UsageError("invalid count '" + std::string(text) + "': " +
                         (problem && *problem != "it does not start with a number"
                              ? std::string(*problem)
                              : std::string("use a positive integer")));
    }
    return quantity.number;
}

std::string format_size(std::int64_t bytes) {
    int power = 0;
    while (power < static_cast<int>(k_units.size()) && bytes != 0 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++power;
    }
    std::string out = std::to_string(bytes);
    if (power > 0) {
        out += k_units[static_cast<std::size_t>(power - 1)];
    }
    return out;
}

} // namespace cacheman

#include "base/Size.hpp"

#include "base/Error.hpp"

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
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        ++digits;
    }
    if (digits == 0) {
        refuse(text, "it does not start with a number");
    }
    std::string unit;
    for (const char c : text.substr(digits)) {
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
    std::int64_t value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        value = value * 10 + (text[i] - '0');
        if (value > k_max_bytes) {
            refuse(text, "too large");
        }
    }
    if (value == 0) {
        refuse(text, "it must be positive");
    }
    for (int i = 0; i < power; ++i) {
        if (value > k_max_bytes / 1024) {
            refuse(text, "too large");
        }
        value *= 1024;
    }
    return value;
}

std::int64_t parse_count(std::string_view text) {
    const bool digits_only =
        !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
    if (!digits_only) {
        throw UsageError("invalid count '" + std::string(text) + "': use a positive integer");
    }
    std::int64_t value = 0;
    for (const char c : text) {
        value = value * 10 + (c - '0');
        if (value > k_max_bytes) {
            throw UsageError("invalid count '" + std::string(text) + "': too large");
        }
    }
    if (value == 0) {
        throw UsageError("invalid count '" + std::string(text) + "': it must be positive");
    }
    return value;
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

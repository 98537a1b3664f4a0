// The number at the start of a quantity the user typed (`90s`, `100M`, `5`): one reading for
// durations, sizes and counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cacheman {

struct Quantity {
    std::int64_t number = 0;
    std::string_view unit; // what follows the digits
};

// Splits `text` into its leading decimal number and the rest, or says what is wrong with the
// number: "it does not start with a number", "too large" (over `max`) or "it must be positive".
inline std::optional<std::string_view> read_quantity(std::string_view text, std::int64_t max,
                                                     Quantity& out) {
    std::size_t digits = 0;
    std::int64_t number = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        number = number * 10 + (text[digits] - '0');
        if (number > max) {
            return "too large";
        }
        ++digits;
    }
    if (digits == 0) {
        return "it does not start with a number";
    }
    if (number == 0) {
        return "it must be positive";
    }
    out = {number, text.substr(digits)};
    return std::nullopt;
}

} // namespace cacheman

// Sizes as the contract writes them: a positive number of bytes, or one with a unit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cacheman {

// Parses "512K", "100M", "2G", "1T" (powers of 1024; the unit in either case, optionally
// followed by "B" or "iB": "100MB", "100mib") or a bare integer of bytes. Throws UsageError for
// anything else: a sign, a fraction, a space, zero, an unknown unit, or more than 2^62 bytes.
std::int64_t parse_size(std::string_view text);

// Parses a positive count ("1000"): the limit of a number of entries. Throws UsageError for
// anything else (zero, a sign, a unit, more than 2^62).
std::int64_t parse_count(std::string_view text);

// The size for people: "512K", "100M", "3G" when it is a whole number of that unit, else bytes.
// parse_size(format_size(n)) == n.
std::string format_size(std::int64_t bytes);

} // namespace cacheman

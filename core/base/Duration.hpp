// Durations as the contract writes them: a positive integer with an optional unit.
#pragma once

#include <chrono>
#include <string_view>

namespace cacheman {

using Duration = std::chrono::milliseconds;

// Parses "1500ms", "1s", "90m", "2h", "7d", or a bare integer (seconds). Throws UsageError for
// anything else: no unit we know, a sign, a fraction, zero, or an overflow.
Duration parse_duration(std::string_view text);

} // namespace cacheman

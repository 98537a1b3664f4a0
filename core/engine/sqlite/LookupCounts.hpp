// Hit and miss counting for `stats`. A lookup (get, run) appends one line to a counts file beside
// the store instead of writing to the store: a reader never takes the write lock, never waits for
// a writer and never fails because of counting. `stats` folds the file into the store's stats
// table. Counts appended while a fold reads the file may be lost: the numbers are approximate by
// design, never a reason for a lookup to be slow.
#pragma once

#include "base/Location.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cacheman {

struct LookupCounts {
    std::int64_t hits = 0;
    std::int64_t misses = 0;
};

// <dir>/<namespace>.counts
std::string counts_path(const Location& location);

// Appends one hit or miss of `cache`. Best effort: errors are ignored.
void count_lookup(const Location& location, std::string_view cache, bool hit) noexcept;

// Takes the counts appended so far (the file is moved away and read), by cache name.
std::map<std::string, LookupCounts> take_counts(const Location& location);

} // namespace cacheman

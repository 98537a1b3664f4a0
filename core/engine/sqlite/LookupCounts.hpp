// Hit and miss counting for `stats`. A lookup (get, run) appends one line to a counts file beside
// the store instead of writing to the store: a reader never takes the write lock, never waits for
// a writer and never fails because of counting. `stats` folds the file into the store's stats
// table. Counts appended while a fold reads the file may be lost: the numbers are approximate by
// design, never a reason for a lookup to be slow.
//
// A hit of a known key is one line `H<TAB><cache><TAB><key>` (the key with `\` and newlines
// escaped) instead of `h<TAB><cache>`, so that writers can fold the order of recent uses into
// the eviction order (Schema.hpp) without the lookup writing to the store. Binaries before
// schema version 4 skip those lines (their hit is not counted: approximate, as above).
#pragma once

#include "base/Location.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cacheman {

struct LookupCounts {
    std::int64_t hits = 0;
    std::int64_t misses = 0;
};

// What lookups appended: counts by cache name, and the entries hit as (cache, key), the most
// recent last, each entry once.
struct Lookups {
    std::map<std::string, LookupCounts> counts;
    std::vector<std::pair<std::string, std::string>> uses;
    [[nodiscard]] bool empty() const { return counts.empty() && uses.empty(); }
    // Counts one lookup (the buffer of a store in memory).
    void add(std::string_view cache, std::optional<std::string_view> key, bool hit);
};

// <dir>/<namespace>.counts
std::string counts_path(const Location& location);

// Appends one hit or miss of `cache`, and a use of `key` for a hit, to the counts file at
// `path`. Best effort: errors are ignored. The keys of volatile caches go to a counts file
// beside the volatile file (in the runtime directory), never to one on persistent disk.
void count_lookup(const std::string& path, std::string_view cache,
                  std::optional<std::string_view> key, bool hit) noexcept;

// Takes the lookups appended so far to the counts file at `path` (it is moved away and read),
// adding them to `into`.
void take_counts(const std::string& path, Lookups& into);

} // namespace cacheman

// Auto-sync rules, as the seed (CacheMan's AutoSyncCache) defines them: edits are counted in
// time buckets, and a save is due when one of the checks holds. Check i covers the band of edit
// ages between the previous check's window and its own (disjoint bands: by default the newest
// 60 s, 60-300 s ago, and 300-900 s ago), and holds when that band counts at least its number of
// edits. Pure logic on an injected clock value, so time windows are unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman {

struct TimeCheck {
    std::int64_t window_seconds = 0;
    std::int64_t count = 0;
};

// The seed's defaults: 60:10000, 300:10, 900:1.
const std::vector<TimeCheck>& default_time_checks();

// Parses "60:10000,300:10,900:1" (window seconds : edits). Throws UsageError when malformed,
// when a number is not positive, or when two windows are equal. The result is sorted by window.
std::vector<TimeCheck> parse_time_checks(std::string_view spec);
std::string format_time_checks(const std::vector<TimeCheck>& checks);

class EditWindow {
  public:
    using Buckets = std::map<std::int64_t, std::int64_t>; // bucket start (unix s) -> edits

    explicit EditWindow(std::vector<TimeCheck> checks, std::int64_t bucket_seconds = 1);

    // Counts `count` edits at `when`. Edits in the future, or older than the longest window,
    // are ignored (as in the seed).
    void record(double when, std::int64_t count, double now);
    // Whether a save is due at `now`.
    [[nodiscard]] bool save_due(double now) const;
    // Forgets every edit (after a save, a load or a build).
    void clear() { m_buckets.clear(); }
    // Drops buckets that no check can see any more.
    void prune(double now);

    [[nodiscard]] const Buckets& buckets() const { return m_buckets; }
    void set_buckets(Buckets buckets) { m_buckets = std::move(buckets); }

  private:
    [[nodiscard]] std::int64_t bucket_of(double when) const;
    [[nodiscard]] std::int64_t longest_window() const;

    std::vector<TimeCheck> m_checks;
    std::int64_t m_bucket_seconds;
    Buckets m_buckets;
};

} // namespace cacheman

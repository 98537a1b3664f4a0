// What a namespace file remembers besides its caches: the invalidation log, the folded lookup
// statistics, and the auto-sync edit counts. Works inside the transaction of the engine's call.
#pragma once

#include "engine/Types.hpp"
#include "engine/sqlite/Catalog.hpp"
#include "engine/sqlite/Connection.hpp"
#include "engine/sqlite/LookupCounts.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::sqlite {

class History {
  public:
    explicit History(Connection& connection) : m_connection(connection) {}

    // Logs one invalidation; the log keeps the newest schema::k_log_limit entries.
    void append_log(std::string_view command, std::string_view cache,
                    const std::vector<std::string>& cleared, double when);
    std::vector<engine::LogEntry> log(const std::optional<std::string>& cache, std::size_t limit);

    void add_lookup_counts(const std::map<std::string, LookupCounts>& counts);
    void forget_lookup_counts(std::string_view cache);

    void count_edits(const CacheRow& row, std::int64_t count);
    engine::EditBuckets edit_counts(const CacheRow& row);
    // Forgets the counts older than `bucket`, or all of them.
    void forget_edits(const CacheRow& row, std::optional<std::int64_t> bucket = std::nullopt);

  private:
    Connection& m_connection;
};

} // namespace cacheman::sqlite

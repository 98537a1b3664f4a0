// The entries of one cache: its cache_<id> table (in the namespace file, or in the volatile
// file). Lookups see live entries only (expires IS NULL or later than now); writers purge
// expired entries lazily, when the cache's next_expiry says one may be due. Works inside the
// transaction of the engine's call.
#pragma once

#include "engine/Engine.hpp"
#include "engine/sqlite/Catalog.hpp"
#include "engine/sqlite/Connection.hpp"
#include "engine/sqlite/Contents.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cacheman::sqlite {

class Entries {
  public:
    Entries(Connection& connection, Contents& contents)
        : m_connection(connection), m_contents(contents) {}

    std::optional<engine::Entry> get(const CacheRow& row, std::string_view key);
    // Hands the live value under `key` to `sink` in pieces; false when there is none.
    bool read_value(const CacheRow& row, std::string_view key, const engine::ChunkSink& sink);
    std::vector<std::string> keys(const CacheRow& row);
    std::size_t count(const CacheRow& row);
    void scan(const CacheRow& row, const engine::EntryVisitor& visit);
    // Live entries and their total bytes (values and the contents they refer to) of every cache,
    // by id.
    struct Totals {
        std::int64_t entries = 0;
        std::int64_t bytes = 0;
    };
    std::vector<Totals> totals(const std::vector<CacheRow>& rows);

    // Writes the batch, each entry used at `tick` (use_tick); returns how many writes it held.
    std::size_t apply(CacheRow& row, const engine::WriteSource& writes, std::int64_t tick);
    // Removes the keys; returns how many live entries were removed.
    std::size_t erase(CacheRow& row, const std::vector<std::string>& keys);
    // Removes one key, live or not.
    void remove(const CacheRow& row, std::string_view key);
    // Removes every entry and resets the expiry bound.
    void clear(CacheRow& row);
    // Deletes the expired entries when one may be due, and recomputes the expiry bound.
    void purge_expired_if_due(CacheRow& row);
    // Deletes every expired entry and recomputes the expiry bound.
    engine::Removed purge_expired(CacheRow& row);

    // --- the order of use (Schema.hpp: use_clock, `used`) --------------------------------------
    // Reserves `count` ticks of the namespace's use clock; returns the last one.
    std::int64_t use_tick(std::int64_t count = 1);
    // Marks the entries under the keys (those that exist) as used at the paired ticks.
    void note_uses(const CacheRow& row,
                   const std::vector<std::pair<std::string, std::int64_t>>& uses);
    // Evicts the least recently used live entries until the cache is within its limits.
    engine::Removed evict(const CacheRow& row);
    // Evicts the least recently used live entries of all `rows` until their values total at
    // most `max_bytes`.
    engine::Removed evict_across(const std::vector<CacheRow>& rows, std::int64_t max_bytes);

  private:
    void note_expiry(CacheRow& row, double expires);
    // Keeps a write's large value (handed over in pieces, or too large for a row) as a
    // content; returns its address, or nullopt for a value that stays in the row.
    std::optional<std::string> keep_large_value(const engine::Write& write);
    // Hands a large value's content to `sink`; throws StoreError when it is gone.
    void read_content(const std::string& digest, const engine::ChunkSink& sink);
    // Deletes the keys of the cache, adding each one and its bytes to `removed`.
    void remove_all(const CacheRow& row,
                    const std::vector<std::pair<std::string, std::int64_t>>& keys,
                    engine::Removed& removed);

    Connection& m_connection;
    Contents& m_contents; // what entries refer to: released with every entry removed
};

} // namespace cacheman::sqlite

// The catalog of a namespace file: the `caches` table (one row per cache: its id, which names
// its entries table, and its settings) and the entries tables' names. Works inside the
// transaction of the engine's call.
#pragma once

#include "engine/Types.hpp"
#include "engine/sqlite/Connection.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::sqlite {

// What the engine needs to know of a cache to read or write its entries.
struct CacheRow {
    std::int64_t id = 0;
    std::optional<double> next_expiry; // a lower bound of its entries' earliest expiry
    bool is_volatile = false;
    bool needs_build = false;  // has a builder that has not filled it since it was cleared
    bool counts_edits = false; // auto-sync is on: edits are counted
    std::optional<std::int64_t> default_ttl_ms;
    std::int64_t generation = 0; // counted up by each clear of an invalidation
    std::optional<std::int64_t> max_entries;
    std::optional<std::int64_t> max_bytes;
    [[nodiscard]] bool has_limits() const { return max_entries || max_bytes; }
};

class Catalog {
  public:
    explicit Catalog(Connection& connection) : m_connection(connection) {}

    [[nodiscard]] std::optional<CacheRow> find(std::string_view cache);
    // A cache the store's invariants say exists (an end of an edge): StoreError when it does not.
    CacheRow existing(std::string_view cache);
    // Finds the cache, creating it (and its entries table) when missing.
    CacheRow ensure(std::string_view cache);
    // The quoted name of the cache's entries table.
    [[nodiscard]] static std::string table(const CacheRow& row);

    std::optional<engine::CacheSettings> settings(std::string_view cache);
    // Writes the settings of an existing cache.
    void write_settings(const CacheRow& row, const engine::CacheSettings& settings);
    // Marks the cache built or not (a builder filled it since it was last cleared).
    void set_built(const CacheRow& row, bool built);
    // Whether the saver's copy holds nothing from before the last clear.
    void set_saved_current(const CacheRow& row, bool current);
    // Starts a new generation of the contents (an invalidation cleared them); the saved copy is
    // no longer current.
    void next_generation(const CacheRow& row);
    // Every cache, by name, without counts: name, volatility, last invalidation, statistics.
    std::vector<engine::CacheSummary> summaries();
    void remove(const CacheRow& row);

  private:
    Connection& m_connection;
};

} // namespace cacheman::sqlite

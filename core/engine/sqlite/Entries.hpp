// The entries of one cache: its cache_<id> table (in the namespace file, or in the volatile
// file). Lookups see live entries only (expires IS NULL or later than now); writers purge
// expired entries lazily, when the cache's next_expiry says one may be due. Works inside the
// transaction of the engine's call.
#pragma once

#include "engine/Engine.hpp"
#include "engine/sqlite/Catalog.hpp"
#include "engine/sqlite/Connection.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::sqlite {

class Entries {
  public:
    explicit Entries(Connection& connection) : m_connection(connection) {}

    std::optional<engine::Entry> get(const CacheRow& row, std::string_view key);
    std::vector<std::string> keys(const CacheRow& row);
    std::size_t count(const CacheRow& row);
    void scan(const CacheRow& row, const engine::EntryVisitor& visit);
    // Live entries and their total bytes of every cache, by id.
    struct Totals {
        std::int64_t entries = 0;
        std::int64_t bytes = 0;
    };
    std::vector<Totals> totals(const std::vector<CacheRow>& rows);

    // Writes the batch; returns how many writes it held.
    std::size_t apply(CacheRow& row, const engine::WriteSource& writes);
    // Removes the keys; returns how many live entries were removed.
    std::size_t erase(CacheRow& row, const std::vector<std::string>& keys);
    // Removes one key, live or not.
    void remove(const CacheRow& row, std::string_view key);
    // Removes every entry and resets the expiry bound.
    void clear(CacheRow& row);
    // Deletes the expired entries when one may be due, and recomputes the expiry bound.
    void purge_expired_if_due(CacheRow& row);

  private:
    void note_expiry(CacheRow& row, double expires);

    Connection& m_connection;
};

} // namespace cacheman::sqlite

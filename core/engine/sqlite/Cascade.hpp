// The dependency graph in a namespace file (the `depends` table) and the cascade: clearing a
// cache and everything computed from it, in one transaction.
//
// Volatile caches live in another file, so one transaction cannot span a cascade that reaches
// them: they are cleared first, in a transaction of their own, so that a crash between the two
// commits leaves too much cleared, never a dependent holding a value from before its parent's
// invalidation.
#pragma once

#include "engine/Types.hpp"
#include "engine/sqlite/Catalog.hpp"
#include "engine/sqlite/Connection.hpp"
#include "engine/sqlite/Entries.hpp"
#include "engine/sqlite/History.hpp"
#include "engine/sqlite/VolatileFile.hpp"
#include "graph/Graph.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::sqlite {

class Cascade {
  public:
    Cascade(Connection& connection, Catalog& catalog, Entries& entries, History& history,
            VolatileFile& volatile_file)
        : m_connection(connection), m_catalog(catalog), m_entries(entries), m_history(history),
          m_volatile(volatile_file) {}

    // Inside the caller's transaction.
    Graph graph();
    std::vector<Edge> edges();
    // Throws UsageError naming the cycle path.
    void depend(std::string_view parent, std::string_view child);
    bool undepend(std::string_view parent, std::string_view child);
    // Removes the cache `row` names with its entries, edges, edit counts and statistics,
    // clearing nothing else.
    void remove(std::string_view cache, CacheRow row);
    // `cache` first, then its dependents, each after its parents.
    std::vector<std::string> with_dependents(std::string_view cache);

    // Each its own transactions (see above). nullopt when `cache` does not exist.
    std::optional<std::vector<std::string>> invalidate(std::string_view cache,
                                                       const std::optional<std::string>& key,
                                                       bool dry_run, std::string_view command);
    // Clears the dependents, then removes the cache. Returns the dependents cleared.
    std::optional<std::vector<std::string>> drop(std::string_view cache);

  private:
    // Empties one cache as an invalidation does: entries, build state, edit counts.
    void clear(CacheRow row, double when);
    // Clears the volatile members of the cascade in the volatile file (when it is attached);
    // returns their names.
    std::vector<std::string> clear_volatile_first(std::string_view cache,
                                                  const std::optional<std::string>& key,
                                                  bool include_root);
    // Inside the main transaction: whether every volatile member of `members` (the root
    // included, when it is cleared) was cleared first, so the cascade may go on. Another
    // process may have made a cache volatile since (then: attach, and start again).
    bool volatile_members_ready(const std::vector<std::string>& members,
                                const std::vector<std::string>& cleared_first,
                                bool include_root);

    Connection& m_connection;
    Catalog& m_catalog;
    Entries& m_entries;
    History& m_history;
    VolatileFile& m_volatile;
};

} // namespace cacheman::sqlite

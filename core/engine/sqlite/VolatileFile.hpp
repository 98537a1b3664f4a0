// The volatile file: where volatile caches keep their entries tables, off persistent disk (a
// private file in the runtime directory, or memory), attached to the connection as schema
// "volatile". Attaching is done outside any transaction (SQLite cannot attach inside one), and
// only when a volatile cache is touched.
#pragma once

#include "engine/sqlite/Connection.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace cacheman::sqlite {

class VolatileFile {
  public:
    // `path` is asked on first attach; "" means an in-memory database for this process only.
    VolatileFile(Connection& connection, std::function<std::string()> path)
        : m_connection(connection), m_path(std::move(path)) {}

    [[nodiscard]] bool attached() const { return m_attached; }
    // Attaches the file (creating it private to the user), then recreates the tables its caches
    // need after a reboot emptied the runtime directory, marking those caches unbuilt, and
    // upgrades the tables an older binary made.
    void attach();
    // Attaches when any cache of the store is volatile (before a cascade or a listing).
    void attach_if_any();
    // Inside a read transaction, whether the volatile file's snapshot holds the entries table
    // of cache `id`. A change of volatility commits the two files one after the other, so a
    // reader's snapshots of them may disagree for a moment: then it reads again.
    bool holds_table_of(std::int64_t id);

  private:
    // Rebuilds tables made before schema version 5 in the current layout.
    void upgrade_tables();

    Connection& m_connection;
    std::function<std::string()> m_path;
    bool m_attached = false;
};

} // namespace cacheman::sqlite

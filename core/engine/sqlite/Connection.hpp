// One open store file: the SQLite connection, its prepared statements, and the clock. Every
// part of the SQLite engine (Catalog, Entries, Cascade, History, ...) works through one
// Connection, inside the transaction the engine's call opened.
#pragma once

#include "base/Clock.hpp"
#include "engine/sqlite/Database.hpp"
#include "engine/sqlite/Statement.hpp"

#include <list>
#include <memory>
#include <string>
#include <unordered_map>

namespace cacheman::sqlite {

class Connection {
  public:
    Connection(std::unique_ptr<Database> db, Clock clock);

    [[nodiscard]] Database& db() { return *m_db; }
    [[nodiscard]] const std::string& path() const { return m_db->path(); }
    [[nodiscard]] double now() const { return unix_now(m_clock); }

    // A prepared statement for `sql`, reset and ready to bind. Statements are kept for reuse,
    // at most k_statements of them (the least recently used is finalised first), so a cascade
    // over thousands of caches does not hold thousands of statements. A statement stays valid
    // while fewer than k_statements others are prepared after it.
    Statement& prepared(const std::string& sql);

    // A cascade over many caches changes many pages; with SQLite's default 2 MB page cache they
    // spill to the WAL before the commit. Pages are allocated only as needed, up to 32 MiB (a
    // command's memory stays under 64 MiB whatever it writes).
    void allow_large_transaction();
    // Bytes streamed into the store (a content) gain nothing from a large page cache: their
    // pages spill to the WAL as they fill it, and memory stays bounded.
    void use_small_cache();

    static constexpr std::size_t k_statements = 64;

  private:
    struct Cached {
        Statement statement;
        std::list<std::string>::iterator age;
    };
    std::unique_ptr<Database> m_db;
    Clock m_clock;
    std::list<std::string> m_ages; // most recently used first
    std::unordered_map<std::string, Cached> m_statements;
};

} // namespace cacheman::sqlite

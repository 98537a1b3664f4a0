#include "engine/sqlite/VolatileFile.hpp"

#include "base/Posix.hpp"
#include "engine/sqlite/Schema.hpp"
#include "engine/sqlite/Transaction.hpp"

#include <cstdint>
#include <vector>

namespace cacheman::sqlite {

void VolatileFile::attach() {
    if (m_attached) {
        return;
    }
    std::string file = m_path ? m_path() : "";
    if (!file.empty()) {
        // The runtime directory may be in a shared one (/dev/shm): it is created 0700 and used
        // only when it is safe (Posix.hpp), as the store's own directory, and the file is
        // reached through its real path so that SQLite refuses any symbolic link.
        const auto slash = file.find_last_of('/');
        const std::string dir = file.substr(0, slash);
        ensure_directory(dir, "runtime directory");
        file = real_directory(dir) + file.substr(slash);
        ensure_private_file(file);
        require_safe_database_files(file, "volatile store");
    }
    auto& attach = m_connection.prepared("ATTACH DATABASE ? AS volatile");
    attach.bind(1, file.empty() ? std::string_view(":memory:") : std::string_view(file));
    attach.run();
    m_attached = true;
    if (!file.empty()) {
        m_connection.db().exec("PRAGMA volatile.journal_mode = WAL");
        require_safe_database_files(file, "volatile store"); // the -wal and -shm now exist
    }
    std::vector<std::int64_t> missing;
    auto& query =
        m_connection.prepared("SELECT id FROM caches WHERE volatile AND 'cache_' || id NOT IN "
                              "(SELECT name FROM volatile.sqlite_master WHERE type = 'table')");
    while (query.step()) {
        missing.push_back(query.column_int(0));
    }
    query.reset();
    for (const auto id : missing) {
        m_connection.db().exec(schema::create_entries_table(id, true));
        auto& unbuilt = m_connection.prepared("UPDATE caches SET built = 0 WHERE id = ?");
        unbuilt.bind(1, id);
        unbuilt.run();
    }
    upgrade_tables();
}

void VolatileFile::upgrade_tables() {
    // Tables a binary before schema version 7 made (WITHOUT ROWID, or without the `used` or the
    // `value_content` column) are upgraded under the write lock, so that two processes
    // attaching at once do not both upgrade them.
    auto& old = m_connection.prepared(
        "SELECT count(*) FROM caches c JOIN volatile.sqlite_master m ON m.type = 'table' AND "
        "m.name = 'cache_' || c.id WHERE c.volatile AND (m.sql LIKE '%WITHOUT ROWID%' OR NOT "
        "EXISTS(SELECT 1 FROM pragma_table_info('cache_' || c.id, 'volatile') WHERE name = "
        "'used') OR NOT EXISTS(SELECT 1 FROM pragma_table_info('cache_' || c.id, 'volatile') "
        "WHERE name = 'value_content'))");
    old.step();
    const bool any = old.column_int(0) != 0;
    old.reset();
    if (!any) {
        return;
    }
    Transaction tx(m_connection.db(), Transaction::Kind::write);
    std::vector<std::int64_t> ids;
    auto& query = m_connection.prepared("SELECT id FROM caches WHERE volatile");
    while (query.step()) {
        ids.push_back(query.column_int(0));
    }
    query.reset();
    for (const auto id : ids) {
        schema::upgrade_entries_table(m_connection.db(), id, true);
    }
    tx.commit();
}

void VolatileFile::attach_if_any() {
    if (m_attached) {
        return;
    }
    auto& any = m_connection.prepared("SELECT EXISTS(SELECT 1 FROM caches WHERE volatile)");
    any.step();
    const bool found = any.column_int(0) != 0;
    any.reset();
    if (found) {
        attach();
    }
}

bool VolatileFile::holds_table_of(std::int64_t id) {
    auto& query = m_connection.prepared(
        "SELECT EXISTS(SELECT 1 FROM volatile.sqlite_master WHERE type = 'table' AND name = ?)");
    query.bind(1, "cache_" + std::to_string(id));
    query.step();
    const bool found = query.column_int(0) != 0;
    query.reset();
    return found;
}

} // namespace cacheman::sqlite
